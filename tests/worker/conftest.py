"""Fixtures for the worker tests: configs for worker processes, a filled outbox, status counts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsletter.config import EmailSettings, NewsletterSettings
from newsletter.delivery.message import make_message_id
from newsletter.models import OutgoingEmail, Paper
from newsletter.render import Renderer
from newsletter.store import outbox as store
from newsletter.store import pins
from newsletter.store.outbox import QueuedIssue
from newsletter.store.papers import upsert_papers


def write_config(folder: Path, port: int, *, batch_size: int = 50, lease: float = 300.0) -> Path:
    """A newsletter.toml sending through one SMTP connection to the sink on ``port``."""
    path = folder / "newsletter.toml"
    path.write_text(
        f"""
[newsletter]
database_url = "sqlite:///news.db"
sender = "Paper Digest <digest@news.example.org>"
base_url = "https://news.example.org"

[delivery]
batch_size = {batch_size}
lease_seconds = {lease}

[mailers.default]
backend = "smtp"
host = "127.0.0.1"
port = {port}
security = "none"
timeout = 10
""",
        encoding="utf-8",
    )
    return path


SENDER = "Paper Digest <digest@news.example.org>"
SECRET = "worker-test-secret-0123456789abcdef"  # workers sign the links of issues they render
NOW = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)


def message(i: int) -> OutgoingEmail:
    """A small message with its wire form already built, as the pipeline stores them."""
    message_id = make_message_id(SENDER)
    to, subject = f"Reader {i} <reader{i}@example.com>", f"Your papers for 5 January ({i})"
    text = f"Hello reader {i}\n\nPaper one: https://arxiv.org/abs/2401.{i:05d}\n"
    head = f"Message-ID: {message_id}\nFrom: {SENDER}\nTo: {to}\nSubject: {subject}\n"
    raw = (head + "Content-Type: text/plain; charset=utf-8\n\n" + text).replace("\n", "\r\n")
    return OutgoingEmail(
        message_id=message_id,
        sender=SENDER,
        to=to,
        subject=subject,
        text=text,
        html=f"<html><body><p>Hello reader {i}</p></body></html>",
        raw=raw.encode(),
    )


def fill_outbox(engine: Engine, count: int) -> set[str]:
    """Queue ``count`` messages for today's issue; returns their Message-IDs."""
    ids = set()
    with engine.begin() as conn:
        for i in range(count):
            email = message(i)
            assert store.enqueue(conn, email, issue_id="2026-01-05", now=NOW)
            ids.add(email.message_id)
    return ids


def fill_issue_outbox(engine: Engine, count: int) -> set[str]:
    """Queue ``count`` issue rows (picks of three stored papers, pinned to the default
    templates) as enqueue stores them: the worker renders each one; returns the Message-IDs."""
    papers = [Paper(title=f"Spiking networks, part {i}", abstract="Delays are learned.",
                    arxiv_id=f"2601.{i:05d}") for i in range(3)]
    renderer = Renderer(NewsletterSettings(sender=SENDER), EmailSettings())
    version, files, settings = renderer.pin()
    picks = [[p.key, 0.9, ["title matches 'spiking networks'"]] for p in papers]
    rows = [
        QueuedIssue("2026-01-05", make_message_id(SENDER), SENDER, f"reader{i}@example.com",
                    {"date": "2026-01-05", "email": f"reader{i}@example.com", "name": "",
                     "topics": ["spiking networks"], "picks": picks}, version)
        for i in range(count)
    ]
    with engine.begin() as conn:
        upsert_papers(conn, papers, "test", NOW)
        pins.save(conn, pins.Pin(version, files, settings), now=NOW)
        assert len(store.enqueue_issues(conn, rows, now=NOW)) == count
    return {row.message_id for row in rows}


def statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        query = sa.select(store.outbox.c.status, sa.func.count()).group_by(store.outbox.c.status)
        return {status: n for status, n in conn.execute(query)}
