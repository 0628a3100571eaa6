"""``newsletter send [--dry-run]`` and ``newsletter status`` on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from newsletter.app.run import ENQUEUED
from newsletter.app.status import explain_today
from newsletter.cli import cli
from newsletter.errors import ConfigError
from newsletter.models import Subscriber
from newsletter.store import locks, open_engine
from newsletter.store import outbox as store
from newsletter.store.profiles import list_subscribers, set_status, upsert_subscriber

from .conftest import NOW, sample

CONFIG = """
[newsletter]
database_url = "sqlite:///news.db"
base_url = "https://news.example.org"
sender = "Paper Digest <digest@news.example.org>"

[mailers.default]
backend = "file"
path = "sent"
"""
TYPO = """
[mailers.typo]
backend = "smtp"
hots = "mail.example.org"
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Engine]:
    (tmp_path / "newsletter.toml").write_text(CONFIG, encoding="utf-8")
    engine = open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    with engine.begin() as conn:
        for i in range(3):
            store.enqueue(conn, sample(i), issue_id="2026-01-05", now=NOW)
        store.suppress(conn, "reader2@example.com", "complained", now=NOW)
    return tmp_path, engine


def invoke(folder: Path, *args: str) -> tuple[object, str]:
    runner = CliRunner(env={"NEWSLETTER_SECRET_KEY": "delivery-cli-test-secret"})
    result = runner.invoke(cli, ["--config", str(folder / "newsletter.toml"), *args],
                           standalone_mode=False, catch_exceptions=True)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.return_value, result.output


def test_dry_run_lists_due_messages_and_changes_nothing(project: tuple[Path, Engine]) -> None:
    folder, engine = project
    code, out = invoke(folder, "send", "--dry-run")
    assert code == 0
    assert "reader0@example.com" in out and "(suppressed: complained)" in out
    assert "3 message(s) due; dry run: nothing sent" in out
    with engine.connect() as conn:
        assert store.status_counts(conn)["2026-01-05"]["queued"] == 3
    assert not (folder / "sent").exists()


def test_send_then_status(project: tuple[Path, Engine]) -> None:
    folder, _ = project
    code, out = invoke(folder, "send")
    assert code == 0
    assert "sent 2, retrying 0, failed 0 (0 bounced), suppressed 1" in out
    assert len(list((folder / "sent").glob("*.eml"))) == 2
    code, out = invoke(folder, "status")
    row = next(line for line in out.splitlines() if "2026-01-05" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells == ["2026-01-05", "0", "0", "2", "0", "0", "1"]  # queued ... suppressed


def test_unknown_mailer_option_is_one_clear_error(project: tuple[Path, Engine]) -> None:
    """Every mailer is checked when the config is read: any command stops, not only send."""
    folder, _ = project
    (folder / "newsletter.toml").write_text(CONFIG + TYPO, encoding="utf-8")
    for command in (["send", "--mailer", "typo"], ["status"]):
        with pytest.raises(ConfigError, match=r"unknown key 'mailers\.typo\.hots'"):
            invoke(folder, *command)


def test_status_explains_each_subscriber(engine: Engine) -> None:
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
    people = {
        "sent@example.com": {}, "gone@example.com": {}, "bounce@example.com": {},
        "late@example.com": {"send_at": time(18, 0)},
        "weekly@example.com": {"frequency": "weekly", "weekday": 3},
        "quiet@example.com": {}, "paused@example.com": {"active": False},
        "queued@example.com": {},
    }
    with engine.begin() as conn:
        for email, extra in people.items():
            upsert_subscriber(conn, Subscriber(email=email, topics=("brains",), **extra), now)
        set_status(conn, "gone@example.com", "unsubscribed", now)
        store.suppress(conn, "gone@example.com", "unsubscribed", now=now)
        store.suppress(conn, "bounce@example.com", "bounced", now=now)
        for who in ("sent", "queued"):
            store.enqueue(conn, sample(1, to=f"{who}@example.com"), issue_id="2026-01-05", now=now)
    with engine.begin() as conn:
        rows = store.claim_due(conn, owner="t", now=now, lease=timedelta(minutes=5), limit=1)
        store.mark_sent(conn, rows[0].id, "t", provider_id=None, now=now)
    with engine.connect() as conn:
        lines = {e: state for e, _, state in explain_today(conn, list_subscribers(conn), now)}
    assert lines == {
        "sent@example.com": "sent", "queued@example.com": "queued",
        "gone@example.com": "unsubscribed", "bounce@example.com": "bounced (suppressed)",
        "late@example.com": "not due until 18:00 UTC", "weekly@example.com": "weekly, not today",
        "quiet@example.com": "due since 07:00 UTC, not yet enqueued (next pass)",  # no pass yet
        "paused@example.com": "paused",
    }
    locks.note_done(engine, ENQUEUED, now=now - timedelta(hours=3))  # yesterday's pass
    with engine.connect() as conn:
        lines = {e: state for e, _, state in explain_today(conn, list_subscribers(conn), now)}
    assert lines["quiet@example.com"] == "due since 07:00 UTC, not yet enqueued (next pass)"
    locks.note_done(engine, ENQUEUED, now=now)  # a pass over everyone found nothing for them
    with engine.connect() as conn:
        lines = {e: state for e, _, state in explain_today(conn, list_subscribers(conn), now)}
    assert lines["quiet@example.com"] == "nothing matched (no issue queued)"
    later = now + timedelta(minutes=5)  # a reader confirmed (or edited) after that pass
    with engine.begin() as conn:
        upsert_subscriber(conn, Subscriber(email="quiet@example.com", topics=("minds",)), later)
    with engine.connect() as conn:
        lines = {e: state for e, _, state in explain_today(conn, list_subscribers(conn), later)}
    assert lines["quiet@example.com"] == "due since 07:00 UTC, not yet enqueued (next pass)"
