"""Shared fixtures for delivery tests: a migrated SQLite file, an SMTP sink, sample messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from newsletter.config import NewsletterSettings
from newsletter.delivery.message import make_message_id
from newsletter.models import OutgoingEmail
from newsletter.store import open_engine

from .smtp_sink import Sink

NOW = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
SENDER = "Paper Digest <digest@news.example.org>"
SECRET = "test-secret-key-0123456789"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    yield eng
    eng.dispose()


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as running:
        yield running


def sample(i: int, *, to: str = "", subject: str = "") -> OutgoingEmail:
    return OutgoingEmail(
        message_id=make_message_id(SENDER),
        sender=SENDER,
        to=to or f"Reader {i} <reader{i}@example.com>",
        subject=subject or f"Your papers for 5 January ({i})",
        text=f"Hello reader {i}\n\nPaper one: https://arxiv.org/abs/2401.0000{i % 10}\n",
        html=f"<html><body><p>Hello reader {i}</p></body></html>",
        headers=(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),),
    )


def newsletter_settings() -> NewsletterSettings:
    return NewsletterSettings(name="Paper Digest", sender=SENDER,
                              base_url="https://news.example.org")
