"""The read-only links of a sent issue: its web copy (the ``Archived-At`` URL) shows the email's
papers in the same order, the archive lists it and advertises the feed, the Atom feed parses
cleanly, and a forged, expired or foreign link shows a plain page, never someone's issue."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import time, timedelta
from urllib.parse import quote

import feedparser
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter import signed_links
from newsletter.app.accounts import Site
from newsletter.app.enqueue import enqueue_due
from newsletter.app.queued_issue import Builder
from newsletter.app.stages import Stages
from newsletter.config import Config
from newsletter.delivery.memory import MemoryMailer
from newsletter.delivery.outbox import send_due
from newsletter.models import OutgoingEmail, Paper
from newsletter.store.outbox import issue_keys, issue_row
from newsletter.store.papers import papers_by_keys

from .conftest import NOW, SECRET, Clock, link_path, subscribe_and_confirm

ADA = "ada@example.org"
HREF = re.compile(r'href="([^"]+)"')


def send_an_issue(
    client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site, config: Config
) -> tuple[OutgoingEmail, list[Paper]]:
    """Ada subscribes and gets today's issue; the message and its papers in order."""
    subscribe_and_confirm(client, mailer)
    stored = site.stored(ADA)
    assert stored is not None
    reader = replace(stored.subscriber, send_at=time(0, 0))
    stages = Stages.build(config, engine)
    enqueue_due(stages, [reader], NOW)
    send_due(engine, mailer, config.delivery, now=NOW, build=Builder(engine, stages.composer))
    message = mailer.outbox[-1]
    with engine.connect() as conn:
        row = issue_row(conn, ADA, NOW.date().isoformat())
        assert row is not None and row.issue
        keys = issue_keys(row.issue)
        found = papers_by_keys(conn, keys)
    assert len(keys) >= 2  # an order worth checking
    return message, [found[k] for k in keys]


def archived_at(message: OutgoingEmail) -> str:
    values = [v for name, v in message.headers if name == "Archived-At"]
    assert len(values) == 1 and values[0].startswith("<") and values[0].endswith(">")
    return values[0][1:-1]


def positions(page: str, papers: list[Paper]) -> list[int]:
    return [page.find(html.escape(p.title)) for p in papers]


def in_order(page: str, papers: list[Paper]) -> bool:
    at = positions(page, papers)
    return all(i >= 0 for i in at) and at == sorted(at)


def test_the_archived_at_page_is_the_email_as_sent(
    client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site, config: Config
) -> None:
    message, papers = send_an_issue(client, mailer, engine, site, config)
    url = archived_at(message)
    assert url.startswith(f"http://testserver/issues/{NOW.date().isoformat()}?token=")
    assert f'href="{html.escape(url)}"' in message.html  # "View in browser"
    assert f"View in browser: {url}" in message.text
    page = client.get(link_path(url))
    assert page.status_code == 200
    assert page.headers["cache-control"] == "private, no-store"
    assert page.headers["x-robots-tag"] == "noindex"
    assert page.headers["referrer-policy"] == "no-referrer"  # the security headers stay
    assert in_order(message.html, papers) and in_order(page.text, papers)
    body, sent = page.text.split("</head>", 1)[1], message.html.split("</head>", 1)[1]
    view = f' · <a href="{html.escape(url)}" style="color:#0a58ca;">View in browser</a>'
    assert view in sent and "View in browser" not in body
    assert body == sent.replace(view, "")  # the HTML part itself, but for a link to itself
    assert 'type="application/atom+xml"' in page.text
    assert client.head(link_path(url)).status_code == 200


def test_the_archive_lists_the_issue_and_advertises_the_feed(
    client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site, config: Config
) -> None:
    message, papers = send_an_issue(client, mailer, engine, site, config)
    archive = next(u for u in HREF.findall(message.html) if "/archive?" in u)
    page = client.get(link_path(html.unescape(archive)))
    assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store"
    assert html.escape(message.subject) in page.text
    assert f"{len(papers)} papers" in page.text
    # one way of writing dates, the emails' own: "Jun 1, 2026" in the subject and beside it
    assert "Jun 1, 2026" in message.subject and '">Jun 1, 2026</time>' in page.text
    assert "June 2026" not in page.text
    links = [html.unescape(u) for u in HREF.findall(page.text)]
    copy = next(u for u in links if f"/issues/{NOW.date().isoformat()}?" in u)
    opened = client.get(link_path(copy))
    assert opened.status_code == 200 and in_order(opened.text, papers)
    feed = re.search(r'<link rel="alternate" type="application/atom\+xml"[^>]* href="([^"]+)"',
                     page.text)
    assert feed and "/feed.atom?token=" in feed.group(1)

    answer = client.get(link_path(html.unescape(feed.group(1))))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    assert answer.headers["x-robots-tag"] == "noindex"
    parsed = feedparser.parse(answer.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert len(parsed.entries) == 1
    entry = parsed.entries[0]
    assert entry.title == message.subject
    assert in_order(entry.content[0].value, papers)
    assert link_path(entry.link) == link_path(copy)


def test_no_issue_and_a_bad_link_show_a_plain_page(
    client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site, config: Config,
    clock: Clock,
) -> None:
    message, papers = send_an_issue(client, mailer, engine, site, config)
    url = link_path(archived_at(message))
    day = NOW.date().isoformat()
    other_day = (NOW.date() - timedelta(days=1)).isoformat()
    grace = signed_links.archive_url("http://testserver", SECRET, "grace@example.org", now=NOW)
    token = url.split("token=", 1)[1]
    prefs = signed_links.preferences_url("http://testserver", SECRET, ADA, now=NOW)
    prefs = prefs.split("token=")[1]
    refused = {
        f"/issues/{day}?token={token[:-4]}AAAA": 400,  # forged signature
        f"/issues/{day}?token={prefs}": 400,  # a preferences token is no archive token
        f"/issues/{other_day}?token={token}": 404,  # the link names another issue
        f"/issues/{day}?{link_path(grace).split('?')[1]}": 404,  # another reader: no issue
        f"/archive?token={quote(token[:-4])}AAAA": 400,
        "/feed.atom?token=": 400,
    }
    for path, status in refused.items():
        for opened in (client.get, client.head):
            answer = opened(path)
            assert answer.status_code == status, path
            assert answer.headers["cache-control"] == "private, no-store", path
            assert answer.headers["x-robots-tag"] == "noindex", path
        text = client.get(path).text
        assert "Nothing was changed" in text and all(p.title not in text for p in papers)
    own = signed_links.archive_url("http://testserver", SECRET, ADA, now=NOW)
    page = client.get(link_path(own).replace("/archive?", f"/issues/{other_day}?"))
    assert page.status_code == 404 and "no such issue" in page.text
    clock.now = NOW + signed_links.ARCHIVE_TTL + timedelta(days=1)
    expired = client.get(url)
    assert expired.status_code == 400 and "expired" in expired.text
    assert all(p.title not in expired.text for p in papers)
