"""``status`` tells the truth (issue 24, item 4): confirmations counted apart from issues, rows
that wait shown with their last error and next attempt, a dead relay named; on SQLite and
PostgreSQL, and through the command."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from newsletter.app.status import outbox_status, relay_line
from newsletter.config import DeliverySettings
from newsletter.delivery.outbox import send_due
from newsletter.store import open_engine
from newsletter.store import outbox as store

from .conftest import NOW, sample
from .smtp_sink import Sink, free_port
from .test_cli import CONFIG, invoke
from .test_smtp import smtp_mailer

SETTINGS = DeliverySettings(retry_base=60, retry_max=3600, max_attempts=4, batch_size=50)
ISSUE = "2026-01-05"


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = open_engine(database_url)
    yield engine
    engine.dispose()


def queue(engine: Engine, issue: int, confirmations: int) -> None:
    with engine.begin() as conn:
        for i in range(issue):
            store.enqueue(conn, sample(i), issue_id=ISSUE, now=NOW)
        for i in range(confirmations):
            email = sample(100 + i, subject="Confirm your subscription")
            store.enqueue(conn, email, issue_id=f"{store.CONFIRMATIONS}{i:04x}", now=NOW)


def test_confirmations_are_counted_apart_from_the_issue(db: Engine) -> None:
    queue(db, 3, 16)
    found = outbox_status(db, NOW)
    assert found.issues == {ISSUE: found.issues[ISSUE]}  # no confirmation listed as an issue
    assert found.issues[ISSUE]["queued"] == 3
    assert found.confirmations["queued"] == 16
    assert found.relay is None and found.waiting == []


def test_a_dead_relay_is_named_and_waiting_rows_show_their_error(db: Engine) -> None:
    queue(db, 3, 2)
    with Sink() as gone:
        pass  # stopped: nobody listens on its port now
    report = send_due(db, smtp_mailer(gone), SETTINGS, now=NOW)
    assert report.deferred == 5
    found = outbox_status(db, NOW)
    assert found.relay is not None and found.relay.waiting == 5
    line = relay_line(found.relay)
    assert line.startswith("Relay down: mailer default: connection to 127.0.0.1 failed")
    assert found.waiting_total == 5 and len(found.waiting) == 5
    for row in found.waiting:
        assert row.status == "queued" and row.attempts == 0
        assert "connection to 127.0.0.1 failed" in row.last_error
        assert NOW < row.next_attempt_at <= NOW + timedelta(seconds=SETTINGS.retry_base + 5)
    with Sink() as back:  # the relay comes back: nothing is named any more
        later = send_due(db, smtp_mailer(back), SETTINGS, now=NOW + timedelta(hours=1))
    assert later.sent == 5
    found = outbox_status(db, NOW + timedelta(hours=1))
    assert found.relay is None and found.waiting_total == 0


def test_a_retried_row_shows_its_last_error_and_next_attempt(db: Engine) -> None:
    queue(db, 2, 0)
    with Sink() as sink:
        sink.handler.add("RCPT", "451 4.7.1 greylisted")
        assert send_due(db, smtp_mailer(sink), SETTINGS, now=NOW).retrying == 1
    found = outbox_status(db, NOW)
    assert found.relay is None  # the relay took the other message: it is not down
    (row,) = found.waiting
    assert (row.recipient, row.status, row.attempts) == ("reader0@example.com", "retrying", 1)
    assert row.last_error.startswith("RCPT 451 4.7.1 greylisted")
    assert row.next_attempt_at > NOW


def test_status_command_shows_the_issue_the_confirmations_and_the_dead_relay(
    tmp_path: Path,
) -> None:
    port = free_port()
    smtp = (f'[mailers.default]\nbackend = "smtp"\nhost = "127.0.0.1"\nport = {port}\n'
            'security = "none"\ntimeout = 1\n')
    config = CONFIG.split("[mailers.default]")[0] + smtp
    (tmp_path / "newsletter.toml").write_text(config, encoding="utf-8")
    engine = open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    queue(engine, 3, 16)
    engine.dispose()
    code, _ = invoke(tmp_path, "send")
    assert code == 75
    code, out = invoke(tmp_path, "status")
    lines = out.splitlines()
    assert any(line.strip("│ ").startswith(ISSUE) for line in lines)
    confirmations = next(line for line in lines if "confirmations" in line)
    cells = [c.strip() for c in confirmations.strip("│ ").split("│")]
    assert cells[:2] == ["confirmations", "16"]  # queued again, counted as one line
    outbox = out.split("Relay down")[0]  # the counts' table
    assert store.CONFIRMATIONS not in outbox
    waiting = [line.strip() for line in lines if line.startswith("  reader")]
    assert len(waiting) == 19
    assert waiting[0].startswith(
        "reader0@example.com  2026-01-05  queued, 0 attempt(s) used, next ")
    assert all(" UTC: relay fault: mailer default: " in line for line in waiting)
    assert "Relay down: mailer default: connection to 127.0.0.1 failed" in out
    assert "19 message(s) wait" in out
    assert "Waiting after a failed try (19, soonest first):" in out
