"""The pipeline end to end on real stages: seed pages, SQLite/PostgreSQL, the memory mailer."""

from __future__ import annotations

import email
import email.policy
import html
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from newsletter.app.enqueue import enqueue_due
from newsletter.app.readers import load_subscribers
from newsletter.app.run import run_once
from newsletter.app.stages import Stages
from newsletter.config import Config
from newsletter.delivery.base import mailer_from_config
from newsletter.delivery.memory import MemoryMailer
from newsletter.delivery.outbox import send_due
from newsletter.match import Matcher
from newsletter.sources.http import Fetcher
from newsletter.store.history import sent_keys
from newsletter.store.papers import papers_by_keys

MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

SUBSCRIBER = """
email = "{email}"
name = "Reader, Jo"
topics = {topics}
timezone = "UTC"
send_at = "08:00"
"""


def write_sub(folder: Path, email: str, topics: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    text = SUBSCRIBER.format(email=email, topics=str(topics).replace("'", '"'))
    (folder / f"{email.split('@')[0]}.toml").write_text(text, encoding="utf-8")


@pytest.fixture
def setup(
    seeds_dir: Path,
    tmp_path: Path,
    database_url: str,
    make_config: Callable[..., Config],
    open_db: Callable[..., Engine],
) -> tuple[Config, Stages]:
    subs = tmp_path / "subscribers"
    write_sub(subs, "spikes@example.org", ["spiking neural networks"])
    write_sub(subs, "nothing@example.org", ["quantum gravity in anti-de Sitter space"])
    seeds = sorted(str(p) for p in seeds_dir.glob("*.txt"))
    config = make_config(
        {
            "newsletter": {"database_url": database_url, "postal_address": "1 Test Road"},
            "sources": [{"path": p} for p in seeds],
            "match": {"semantic": False},
            "mailers": {"mem": {"backend": "memory"}},
            "delivery": {"mailer": "mem"},
        },
        env={"NEWSLETTER_SECRET_KEY": "test-secret"},
    )
    engine = open_db()
    matcher = Matcher.from_settings(config.match)
    return config, Stages.build(config, engine, matcher)


def run(config: Config, stages: Stages, now: datetime) -> tuple[MemoryMailer, object]:
    mailer = mailer_from_config(config)
    assert isinstance(mailer, MemoryMailer)
    with Fetcher(config.fetch) as fetcher:
        report = run_once(stages, now, fetcher, mailer)
    return mailer, report


def test_run_once_sends_each_due_subscriber_one_explained_issue(
    setup: tuple[Config, Stages],
) -> None:
    config, stages = setup
    mailer, report = run(config, stages, MORNING)
    assert [m.to for m in mailer.outbox] == ["Reader, Jo <spikes@example.org>"]
    message = email.message_from_bytes(mailer.outbox[0].raw or b"", policy=email.policy.default)
    to = message["To"].addresses[0]  # type: ignore[union-attr]
    assert (to.display_name, to.addr_spec) == ("Reader, Jo", "spikes@example.org")
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    body = text.get_payload(decode=True).decode()
    assert "spiking neural networks" in body.lower()
    assert "1 Test Road" in body and "unsubscribe?token=" in body
    assert report.enqueue.skipped["nothing@example.org"] == "nothing matched"  # type: ignore[attr-defined]


def test_a_broken_subscriber_file_holds_up_nobody_else(
    setup: tuple[Config, Stages], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One reader's typo (here the day after their file was first synced) is skipped and
    logged; everyone else's issue goes out, and the typo's reader keeps the profile they had
    instead of being dropped as if their file were gone. Two files with one email are both
    skipped: the reader keeps the profile stored before, whichever file sorts first."""
    config, stages = setup
    folder = tmp_path / "subscribers"
    write_sub(folder, "other@example.org", ["spiking neural networks"])
    run(config, stages, MORNING)
    (folder / "other.toml").write_text('email = "other@example.org"\ntopics = ["x"\n')
    copy = (folder / "spikes.toml").read_text(encoding="utf-8").replace("Jo", "Copy")
    (folder / "aa-copy.toml").write_text(copy, encoding="utf-8")
    with caplog.at_level("WARNING", logger="newsletter.app.readers"):
        mailer, _ = run(config, stages, MORNING + timedelta(days=1))
    assert sorted(m.to for m in mailer.outbox) == [
        "Reader, Jo <other@example.org>", "Reader, Jo <spikes@example.org>"
    ]
    warned = sorted(r.getMessage() for r in caplog.records)
    assert len(warned) == 3 and all("skipped until it is fixed" in w for w in warned)
    assert warned[0].startswith(f"{folder / 'aa-copy.toml'}: field 'email'")
    assert warned[1].startswith(f"{folder / 'other.toml'}: invalid TOML")
    assert warned[2].startswith(f"{folder / 'spikes.toml'}: field 'email'")


def test_a_second_run_the_same_day_sends_nothing(setup: tuple[Config, Stages]) -> None:
    config, stages = setup
    run(config, stages, MORNING)
    mailer, report = run(config, stages, MORNING + timedelta(hours=2))
    assert mailer.outbox == []
    assert report.enqueue.already == 1  # type: ignore[attr-defined]


def test_no_paper_is_sent_twice_across_days(setup: tuple[Config, Stages]) -> None:
    config, stages = setup
    first, _ = run(config, stages, MORNING)
    with stages.engine.connect() as conn:
        day_one = papers_by_keys(conn, sorted(sent_keys(conn, "spikes@example.org")))
    second, _ = run(config, stages, MORNING + timedelta(days=1))
    assert first.outbox and day_one
    assert all(html.escape(p.title) in first.outbox[0].html for p in day_one.values())
    assert second.outbox, "the seeds hold more spiking papers than one issue shows"
    # the second day holds only papers the first day left out
    for message in second.outbox:
        assert not any(html.escape(p.title) in message.html for p in day_one.values())


def test_not_due_before_the_local_send_time(setup: tuple[Config, Stages]) -> None:
    config, stages = setup
    subs = load_subscribers(config, stages.engine, MORNING)
    report = enqueue_due(stages, subs, MORNING.replace(hour=7))
    assert report.enqueued == 0 and report.not_due == 2
    assert send_due(stages.engine, mailer_from_config(config), config.delivery).sent == 0
