"""An issue in sections through the outbox, on SQLite and PostgreSQL: the snapshot keeps what
brought each paper in and the reader's choice, so the sent email, its web copy and the feed
show the sections that were enqueued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from sqlalchemy.engine import Engine

from newsletter.app.archive import Archive
from newsletter.app.queued_issue import Builder
from newsletter.app.run import deliver
from newsletter.app.stages import Stages
from newsletter.config import Config
from newsletter.delivery.memory import MemoryMailer
from newsletter.delivery.outbox import send_due
from newsletter.models import Paper
from newsletter.store.outbox import WITH_ISSUE
from newsletter.store.papers import upsert_papers
from newsletter.web.feed import atom_feed
from tests.app.conftest import add_papers, add_subscriber, memory_mailer, service_config

DAY1 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ADA = "ada@example.org"
TOPICS = ("exoplanets", "spiking neural networks")
HEADINGS = ["exoplanets - 2 papers", "spiking neural networks - 2 papers"]  # reader's order


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    """The app conftest's config on each database (its ``engine`` opens this one)."""
    return service_config(tmp_path, database_url)


def papers_of_two_topics(engine: Engine) -> None:
    add_papers(engine, DAY1 - timedelta(hours=1), "vision", n=2)  # spiking neural networks
    planets = [Paper(title=f"Mass-radius relationships of rocky exoplanets, sample {i}",
                     abstract=f"We measure exoplanets of sample {i}.") for i in range(2)]
    with engine.begin() as conn:
        upsert_papers(conn, planets, "test", DAY1 - timedelta(hours=1))


def headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.endswith((" paper", " papers"))]


def sent_text(stages: Stages, config: Config) -> str:
    mailer: MemoryMailer = memory_mailer(config.base_dir)
    send_due(stages.engine, mailer, config.delivery, now=DAY1,
             build=Builder(stages.engine, stages.composer))
    [sent] = mailer.outbox
    return sent.text


@pytest.mark.parametrize("sections", [True, False])
def test_the_worker_renders_the_sections_the_issue_was_enqueued_with(
    config: Config, engine: Engine, sections: bool
) -> None:
    add_subscriber(engine, ADA, "UTC", "08:00", topics=TOPICS, sections=sections)
    papers_of_two_topics(engine)
    stages = Stages.build(config, engine)
    deliver(stages, DAY1, None)
    with engine.connect() as conn:
        issue = dict(conn.execute(WITH_ISSUE).mappings().one())["issue"]
    assert issue["sections"] is sections
    brought = sorted(entry[3]["topic"] for entry in issue["picks"])
    assert brought == sorted(TOPICS * 2)  # each pick says the topic that brought it in
    # the reader changes their mind after enqueue: the issue keeps what was enqueued
    add_subscriber(engine, ADA, "UTC", "08:00", topics=TOPICS, sections=not sections)
    text = sent_text(stages, config)
    assert headings(text) == (HEADINGS if sections else [])


def test_the_web_copy_and_the_feed_show_the_sections(config: Config, engine: Engine) -> None:
    add_subscriber(engine, ADA, "UTC", "08:00", topics=TOPICS)
    papers_of_two_topics(engine)
    stages = Stages.build(config, engine)
    deliver(stages, DAY1, None)
    assert headings(sent_text(stages, config)) == HEADINGS
    archive = Archive(engine, stages.composer, lambda: DAY1, config)
    copy = archive.web_copy(ADA, DAY1.date().isoformat())
    assert copy.count('class="toc-section" href="#section-') == 2
    assert 'id="section-1"' in copy and 'id="section-2"' in copy
    [past] = archive.past(ADA)
    assert [(title, len(papers)) for title, papers in past.sections] == [
        ("exoplanets", 2), ("spiking neural networks", 2)]
    feed = atom_feed("Paper Digest", "https://news.example.org", ADA, [past],
                     self_url="https://news.example.org/feed.atom",
                     archive_url="https://news.example.org/archive", now=DAY1)
    parsed = feedparser.parse(feed)
    assert parsed.bozo == 0
    content = parsed.entries[0].content[0].value
    assert "<h3>exoplanets (2)</h3><ol>" in content
    assert '<h3>spiking neural networks (2)</h3><ol start="3">' in content
    assert content.index("Mass-radius") < content.index("Spiking neural networks for vision")
