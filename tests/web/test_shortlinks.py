"""Short feedback links in a sent issue: about 50 characters, shown as a page with a button,
recorded only by the POST, refused when forged, pointed at another row, or expired."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter import shortlinks
from newsletter.app.accounts import Site
from newsletter.app.enqueue import enqueue_due
from newsletter.app.queued_issue import Builder
from newsletter.app.stages import Stages
from newsletter.config import Config
from newsletter.delivery.memory import MemoryMailer
from newsletter.delivery.outbox import send_due
from newsletter.models import OutgoingEmail
from newsletter.store.history import feedback_for
from newsletter.store.outbox import WITH_ISSUE, QueuedIssue, enqueue_issues
from newsletter.store.tables import outbox

from .conftest import NOW, SECRET, Clock, csrf_of, subscribe_and_confirm

SHORT = re.compile(r"http://testserver(/f/[0-9a-z]+\.[0-9a-z]+[pm]\.[A-Za-z0-9_-]{12})")


def send_issue(client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site,
               config: Config) -> OutgoingEmail:
    subscribe_and_confirm(client, mailer)
    stored = site.stored("ada@example.org")
    assert stored is not None
    stages = Stages.build(config, engine)
    enqueue_due(stages, [replace(stored.subscriber, send_at=time(0, 0))], NOW)
    send_due(engine, mailer, config.delivery, now=NOW, build=Builder(engine, stages.composer))
    return mailer.outbox[-1]


def test_feedback_links_are_short_and_record_only_on_the_button(
    client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site, config: Config
) -> None:
    issue = send_issue(client, mailer, engine, site, config)
    links = SHORT.findall(issue.text)
    assert links and len(links) % 2 == 0
    assert all(len("http://testserver") + len(path) <= 60 for path in links)
    assert "/feedback?token=" not in issue.text
    more = next(p for p in links if re.search(r"p\.", p))
    page = client.get(more)
    assert page.status_code == 200 and client.head(more).status_code == 200
    with engine.connect() as conn:
        assert feedback_for(conn, "ada@example.org") == {}  # opening records nothing
    code = more.removeprefix("/f/")
    done = client.post("/feedback", data={"csrf": csrf_of(page.text), "token": code, "j": "1"})
    assert done.status_code == 200
    with engine.connect() as conn:
        assert list(feedback_for(conn, "ada@example.org").values()) == [1]


@pytest.mark.parametrize("tamper", ["mac", "row", "place", "judgment"])
def test_a_forged_short_link_is_refused(
    client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site, config: Config,
    tamper: str,
) -> None:
    issue = send_issue(client, mailer, engine, site, config)
    found = shortlinks.parse(SHORT.findall(issue.text)[0].removeprefix("/f/"))
    row, place, judgment, mac = found.row_id, found.index, found.judgment, found.mac
    good = SHORT.findall(issue.text)[0].removeprefix("/f/")
    other = "m" if judgment == 1 else "p"
    forged = {
        "mac": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "row": shortlinks.code(SECRET, row + 1, place, judgment, "x").rsplit(".", 1)[0]
        + "." + mac,
        "place": shortlinks.code("another-secret", row, place + 1, judgment, "x"),
        "judgment": good.rsplit(".", 2)[0] + f".{place}{other}." + mac,
    }[tamper]
    page = client.get(f"/f/{forged}")
    assert page.status_code == 400 and "not valid" in page.text
    with engine.connect() as conn:
        assert feedback_for(conn, "ada@example.org") == {}


def test_a_short_link_to_no_issue_or_past_its_time_is_refused(
    client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site, config: Config,
    clock: Clock,
) -> None:
    issue = send_issue(client, mailer, engine, site, config)
    path = SHORT.findall(issue.text)[0]
    assert client.get(f"/f/{shortlinks.code(SECRET, 999_999, 0, 1, 'x')}").status_code == 400
    clock.now = NOW + timedelta(days=91)
    page = client.get(path)
    assert page.status_code == 400 and "expired" in page.text


def test_an_old_link_does_not_act_on_a_new_issue_that_reuses_its_row_id(
    client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site, config: Config
) -> None:
    issue = send_issue(client, mailer, engine, site, config)
    path = SHORT.findall(issue.text)[0]
    old = shortlinks.parse(path.removeprefix("/f/"))
    with engine.begin() as conn:
        row = conn.execute(WITH_ISSUE.where(outbox.c.id == old.row_id)).mappings().one()
        conn.execute(sa.delete(outbox).where(outbox.c.id == old.row_id))
        bob = QueuedIssue(row["issue_id"], "<bob@x.org>", row["sender"], "bob@example.org",
                          dict(row["issue"], email="bob@example.org"), row["template_version"])
        enqueue_issues(conn, [bob], now=NOW)
        reused = conn.execute(sa.select(outbox.c.id).where(outbox.c.recipient == "bob@example.org"))
        assert reused.scalar() == old.row_id  # SQLite hands the id out again
    page = client.get(path)
    assert page.status_code == 400 and "not valid" in page.text
