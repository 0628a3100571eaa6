"""Equal answers for every address (issue 24, item 6): a sign-up for a bounced or complained
address does the same database work as one for a new address, statement for statement, on
SQLite and PostgreSQL; only its outbox row is suppressed instead of queued.

Counted, not timed: a timing test would flake on a loaded machine, while the statements a
request runs are what made the refusal path faster (it skipped two inserts and a commit's
writes).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from newsletter.app.accounts import Site
from newsletter.config import config_from_dict
from newsletter.delivery.memory import MemoryMailer
from newsletter.models import Subscriber
from newsletter.store import open_engine
from newsletter.store import outbox as store

from .conftest import NOW, SECRET, Clock


def db_site(database_url: str, tmp_path: Path, mailer: MemoryMailer, **web: Any) -> Site:
    """A site on ``database_url`` (SQLite or PostgreSQL) that sends in the caller's thread."""
    data = {
        "newsletter": {"sender": "Paper Digest <digest@news.example.org>",
                       "base_url": "http://testserver", "database_url": database_url},
        "match": {"semantic": False},
        "mailers": {"mem": {"backend": "memory"}},
        "delivery": {"mailer": "mem"},
        "web": web,
    }
    config = config_from_dict(data, tmp_path, str(tmp_path / "newsletter.toml"),
                              {"NEWSLETTER_SECRET_KEY": SECRET})
    return Site(config, open_engine(database_url), lambda: mailer, Clock(NOW), send_inline=True)


@pytest.fixture
def site(database_url: str, tmp_path: Path, mailer: MemoryMailer) -> Iterator[Site]:
    made = db_site(database_url, tmp_path, mailer)
    yield made
    made.engine.dispose()


class Statements:
    """The SQL text each statement run on this thread had (parameters left out)."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.seen = engine, list[str]()
        self.thread = threading.get_ident()

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._note)

    def _note(self, conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if threading.get_ident() == self.thread:
            self.seen.append(" ".join(statement.split()))


def reader(email: str) -> Subscriber:
    return Subscriber(email=email, name="", topics=("spiking neural networks",))


@pytest.mark.parametrize("reason", ["bounced", "complained"])
def test_a_refused_address_does_the_same_work_as_a_new_one(
    site: Site, mailer: MemoryMailer, reason: str
) -> None:
    site.sender.poke = lambda: None  # type: ignore[method-assign]  # sending is not the page's work
    with site.engine.begin() as conn:
        store.suppress(conn, "gone@example.org", reason, now=NOW)
    site.signup(reader("warm-up@example.org"), "198.51.100.1")  # connections, caches
    with Statements(site.engine) as fresh:
        said_new = site.signup(reader("new@example.org"), "198.51.100.1")
    with Statements(site.engine) as refused:
        said_gone = site.signup(reader("gone@example.org"), "198.51.100.1")
    assert said_new == "confirmation queued" and said_gone == f"address {reason}, no email sent"
    assert len(refused.seen) >= 4  # the suppression look-up, sign-up, outbox and commit
    assert refused.seen == fresh.seen
    with site.engine.connect() as conn:
        rows = dict(conn.execute(sa.select(store.outbox.c.recipient, store.outbox.c.status)).all())
    assert rows["new@example.org"] == "queued" and rows["gone@example.org"] == "suppressed"
    site.sender.send()
    assert sorted(m.to for m in mailer.outbox) == ["new@example.org", "warm-up@example.org"]
