"""A mail security scanner opens every link of a delivered issue (GET and HEAD), the web copy,
archive and feed links too: the reader's subscription, feedback and next issue stay exactly as
they were."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import time

from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter.app.accounts import Site
from newsletter.app.enqueue import enqueue_due
from newsletter.app.queued_issue import Builder
from newsletter.app.stages import Stages
from newsletter.config import Config
from newsletter.delivery.memory import MemoryMailer
from newsletter.delivery.outbox import send_due
from newsletter.models import Paper
from newsletter.store.history import feedback_for
from newsletter.store.papers import upsert_papers

from .conftest import NOW, subscribe_and_confirm

TOMORROW = [
    Paper(
        title="Surrogate gradients for spiking neural networks on chips",
        arxiv_id="2606.00011",
        abstract="Spiking neural networks with surrogate gradients run on neuromorphic chips.",
    ),
    Paper(
        title="Spiking neural networks that spot keywords",
        arxiv_id="2606.00012",
        abstract="Keyword spotting with spiking neural networks at low energy.",
    ),
]
LINK = re.compile(r"https?://testserver/[^\s\"'<>)]+")
FEED = re.compile(r'type="application/atom\+xml"[^>]* href="(http://testserver/[^"]+)"')


def test_opening_every_link_of_an_issue_changes_nothing(
    client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site, config: Config
) -> None:
    subscribe_and_confirm(client, mailer)
    stored = site.stored("ada@example.org")
    assert stored is not None and stored.status == "active"
    reader = replace(stored.subscriber, send_at=time(0, 0))
    sent = [p.paper.key for p in site.preview(reader)]
    assert sent  # an issue worth scanning
    stages = Stages.build(config, engine)
    enqueue_due(stages, [reader], NOW)
    send_due(engine, mailer, config.delivery, now=NOW, build=Builder(engine, stages.composer))
    issue = mailer.outbox[-1]
    with engine.begin() as conn:  # tomorrow's papers, which a recorded dislike would reorder
        upsert_papers(conn, TOMORROW, "test", NOW)
    before = [(p.paper.key, p.score) for p in site.preview(reader)]
    assert len(before) == 2
    links = set(LINK.findall(issue.text)) | {
        u.replace("&amp;", "&") for u in LINK.findall(issue.html)
    }
    # the read-only links: the web copy (also the Archived-At header), the archive, its feed
    links |= {v.strip("<>") for name, v in issue.headers if name == "Archived-At"}
    archive = next(u for u in links if "/archive?" in u)
    links |= set(FEED.findall(client.get(archive.removeprefix("http://testserver")).text))
    feedback = [u for u in links if "/f/" in u]  # short links naming the issue's row
    assert len(feedback) == 2 * len(sent) and any("/unsubscribe?" in u for u in links)
    assert {"/issues/", "/archive?", "/feed.atom?"} <= {
        kind for u in links for kind in ("/issues/", "/archive?", "/feed.atom?") if kind in u
    }
    for url in sorted(links):
        for opened in (client.get, client.head):
            assert opened(url.removeprefix("http://testserver")).status_code in (200, 303)
    after = site.stored("ada@example.org")
    assert after is not None and after.status == "active"
    with engine.connect() as conn:
        assert feedback_for(conn, "ada@example.org") == {}
    assert [(p.paper.key, p.score) for p in site.preview(reader)] == before
