"""One message the relay chokes on never holds the others (issue 24, item 2).

An aiosmtpd server on loopback gives one recipient the same fault every time: the line dropped
or silent after DATA, or a 5xx at DATA or RCPT. That row sorts first; the six good messages
must still go out in the first run, and the bad row must use an attempt per run until it fails,
on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsletter.config import DeliverySettings
from newsletter.delivery.outbox import send_due
from newsletter.store import open_engine
from newsletter.store import outbox as store

from .conftest import NOW
from .smtp_sink import Sink
from .test_smtp import fill, smtp_mailer

SETTINGS = DeliverySettings(retry_base=60, retry_max=600, max_attempts=3, batch_size=10)
BAD = "reader0@example.com"  # the first row enqueued: it sorts first every round


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = open_engine(database_url)
    yield engine
    engine.dispose()


def bad_row(engine: Engine) -> tuple[str, int, str]:
    with engine.connect() as conn:
        query = sa.select(store.outbox.c.status, store.outbox.c.attempts,
                          store.outbox.c.last_error).where(store.outbox.c.recipient == BAD)
        status, attempts, error = conn.execute(query).one()
    return status, attempts, error or ""


@pytest.mark.parametrize(("stage", "reply", "first"), [
    ("DATA", "drop", "retrying"),  # the connection closed after the message was sent
    ("DATA", "stall", "retrying"),  # no answer after the message was sent: a timeout
    ("DATA", "554 5.6.0 content rejected", "failed"),
    ("RCPT", "550 5.7.1 rejected by policy", "failed"),
])
def test_one_bad_message_does_not_hold_the_issue(
    db: Engine, stage: str, reply: str, first: str
) -> None:
    with Sink() as sink:
        ids = fill(db, 7)
        sink.handler.always(stage, BAD, reply)
        report = send_due(db, smtp_mailer(sink), SETTINGS, now=NOW)
        assert report.sent == 6 and report.deferred == 0  # the relay is not paused
        assert bad_row(db)[:2] == (first, 1)  # the bad row used its first attempt
        assert sink.received == {mid: 1 for mid in ids[1:]}
        moment, seen = NOW, [1]
        for _ in range(10):  # the rounds that used to send nothing
            moment += timedelta(minutes=30)
            send_due(db, smtp_mailer(sink), SETTINGS, now=moment)
            seen.append(bad_row(db)[1])
        status, attempts, error = bad_row(db)
    assert status == "failed" and attempts == (SETTINGS.max_attempts if first == "retrying" else 1)
    assert seen[: attempts] == list(range(1, attempts + 1))  # one more attempt each round
    assert stage in error
    assert sink.received == {mid: 1 for mid in ids[1:]}  # nothing repeated, nothing lost
