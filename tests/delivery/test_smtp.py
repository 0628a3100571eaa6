"""The SMTP mailer and the outbox against a real aiosmtpd server on loopback with injected faults.

Every fault hits the first message only; the run after the retry delay must deliver every
message that was not failed permanently exactly once, counted by Message-ID at the server.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsletter.config import DeliverySettings, MailerSettings, Secrets
from newsletter.delivery.base import Mailer, MailerEnv, create_mailer
from newsletter.delivery.outbox import send_due
from newsletter.store import outbox as store

from .conftest import NOW, sample
from .smtp_sink import Sink

SETTINGS = DeliverySettings(retry_base=60, retry_max=3600, max_attempts=4, batch_size=10)


def smtp_mailer(sink: Sink, **options: Any) -> Mailer:
    opts = {"host": "127.0.0.1", "port": sink.port, "security": "none", "timeout": 0.5} | options
    env = MailerEnv(Secrets({}), Path("."))
    return create_mailer("default", MailerSettings("smtp", opts), env)


def fill(engine: Engine, n: int) -> list[str]:
    ids = []
    with engine.begin() as conn:
        for i in range(n):
            email = sample(i)
            assert store.enqueue(conn, email, issue_id="2026-01-05", now=NOW)
            ids.append(email.message_id)
    return ids


def statuses(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(store.outbox.c.status).order_by(store.outbox.c.id))
        return list(rows.scalars())


TRANSIENT = [  # the recipient's or the message's trouble: this message alone is retried
    ("RCPT", "421 4.3.2 closing"),
    ("RCPT", "451 4.7.1 greylisted"),
    ("RCPT", "452 4.2.2 mailbox full"),
    ("RCPT", "552 5.5.3 too many recipients"),
    ("DATA", "421 4.3.2 closing"),
    ("DATA", "451 4.3.0 queue trouble"),
    ("DATA", "stall"),  # silent after the message was sent: this message's attempt
    ("DATA", "drop"),  # the line dropped after the message was sent: the same
]
RELAY = [  # the relay's trouble (or our sender's): the batch pauses, no attempt is used
    ("CONNECT", "421 4.3.2 service not available"),
    ("CONNECT", "451 4.3.0 try again later"),
    ("CONNECT", "stall"),
    ("MAIL", "421 4.3.2 closing"),
    ("MAIL", "451 4.3.0 local error"),
    ("MAIL", "550 5.7.1 relaying denied"),
    ("RCPT", "stall"),  # before any recipient was accepted
    ("RCPT", "drop"),
]


@pytest.mark.parametrize(("stage", "reply"), TRANSIENT)
def test_transient_fault_retries_then_delivers_exactly_once(
    engine: Engine, sink: Sink, stage: str, reply: str
) -> None:
    ids = fill(engine, 3)
    sink.handler.add(stage, reply)
    report = send_due(engine, smtp_mailer(sink), SETTINGS, now=NOW)
    assert (report.sent, report.retrying, report.failed) == (2, 1, 0)
    assert statuses(engine) == ["retrying", "sent", "sent"]
    assert send_due(engine, smtp_mailer(sink), SETTINGS, now=NOW).handled == 0  # not due yet
    later = send_due(engine, smtp_mailer(sink), SETTINGS, now=NOW + timedelta(hours=2))
    assert later.sent == 1
    assert statuses(engine) == ["sent"] * 3
    assert sink.received == {mid: 1 for mid in ids}


@pytest.mark.parametrize(("stage", "reply"), RELAY)
def test_a_relay_fault_pauses_the_batch_without_using_attempts(
    engine: Engine, sink: Sink, stage: str, reply: str
) -> None:
    ids = fill(engine, 5)
    sink.handler.add(stage, reply)
    started = time.monotonic()
    report = send_due(engine, smtp_mailer(sink), SETTINGS, now=NOW)
    # Real sockets time out in real time: one timeout a message would take 5 x 0.5 s at least,
    # one in all about 0.5 s, so 2.4 s leaves that answer room on a loaded 2-core machine.
    assert time.monotonic() - started < 2.4
    assert (report.sent, report.deferred, report.retrying, report.failed) == (0, 5, 0, 0)
    assert "deferred 5 (relay fault: " in report.describe()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(store.outbox.c.status, store.outbox.c.attempts)).all()
    assert rows == [("queued", 0)] * 5  # back in the queue, every attempt still to use
    assert send_due(engine, smtp_mailer(sink), SETTINGS, now=NOW).handled == 0  # paused
    later = send_due(engine, smtp_mailer(sink), SETTINGS, now=NOW + timedelta(hours=2))
    assert later.sent == 5 and statuses(engine) == ["sent"] * 5
    assert sink.received == {mid: 1 for mid in ids}  # the relay recovered: each once


@pytest.mark.parametrize(("stage", "reply", "bounce"), [
    ("RCPT", "550 5.1.1 no such user", True),
    ("RCPT", "553 mailbox name not allowed", True),
    ("RCPT", "550 5.7.1 rejected by policy", False),
    ("DATA", "552 5.3.4 message too big", False),
    ("DATA", "554 5.6.0 content rejected", False),
])
def test_permanent_fault_fails_and_hard_bounce_suppresses(
    engine: Engine, sink: Sink, stage: str, reply: str, bounce: bool
) -> None:
    ids = fill(engine, 3)
    sink.handler.add(stage, reply)
    report = send_due(engine, smtp_mailer(sink), SETTINGS, now=NOW)
    assert (report.sent, report.failed, report.bounced) == (2, 1, int(bounce))
    assert statuses(engine) == ["failed", "sent", "sent"]
    with engine.connect() as conn:
        assert store.suppressed(conn, ["reader0@example.com"]) == (
            {"reader0@example.com": "bounced"} if bounce else {})
        error = conn.execute(sa.select(store.outbox.c.last_error).limit(1)).scalar_one()
    assert reply.split()[0] in error and stage in error
    send_due(engine, smtp_mailer(sink), SETTINGS, now=NOW + timedelta(days=1))
    assert sink.received == {mid: 1 for mid in ids[1:]}


def test_retries_stop_at_max_attempts(engine: Engine, sink: Sink) -> None:
    fill(engine, 1)
    sink.handler.add("RCPT", *["451 4.7.1 greylisted"] * 10)
    moment = NOW
    for _ in range(SETTINGS.max_attempts):
        send_due(engine, smtp_mailer(sink), SETTINGS, now=moment)
        moment += timedelta(hours=2)
    assert statuses(engine) == ["failed"]
    assert send_due(engine, smtp_mailer(sink), SETTINGS, now=moment).handled == 0
    with engine.connect() as conn:
        row = conn.execute(sa.select(store.outbox)).mappings().one()
    assert row["attempts"] == SETTINGS.max_attempts
    assert row["last_error"].startswith("gave up after 4 attempts: RCPT 451")
    assert sink.received == {}


def test_one_connection_is_reused_for_many_messages(engine: Engine, sink: Sink) -> None:
    ids = fill(engine, 12)
    assert send_due(engine, smtp_mailer(sink), SETTINGS, now=NOW).sent == 12
    assert sink.handler.connections == 1
    assert sink.received == {mid: 1 for mid in ids}


def test_parallel_connections_deliver_each_message_once(engine: Engine, sink: Sink) -> None:
    ids = fill(engine, 40)
    sink.handler.add("RCPT", "451 4.7.1 greylisted", "451 4.7.1 greylisted")
    mailer = smtp_mailer(sink, connections=3)
    report = send_due(engine, mailer, SETTINGS, now=NOW)
    assert (report.sent, report.retrying) == (38, 2)
    assert sink.handler.connections == 3
    send_due(engine, smtp_mailer(sink, connections=3), SETTINGS, now=NOW + timedelta(hours=2))
    assert sink.received == {mid: 1 for mid in ids}


def test_rate_cap_spaces_messages(engine: Engine, sink: Sink) -> None:
    fill(engine, 6)
    started = time.monotonic()
    assert send_due(engine, smtp_mailer(sink, max_rate=20.0), SETTINGS, now=NOW).sent == 6
    # A real socket and the mailer's own clock; a lower bound, which load only makes easier.
    assert time.monotonic() - started >= 5 / 20.0


def test_unreachable_server_defers_everyone(engine: Engine) -> None:
    fill(engine, 2)
    with Sink() as gone:
        port = gone.port
    env = MailerEnv(Secrets({}), Path("."))
    opts = {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 0.5}
    mailer = create_mailer("default", MailerSettings("smtp", opts), env)
    report = send_due(engine, mailer, SETTINGS, now=NOW)
    assert report.deferred == 2 and report.retrying == 0
    with engine.connect() as conn:
        errors = conn.execute(sa.select(store.outbox.c.last_error)).scalars().all()
    assert all("connection to 127.0.0.1 failed" in e for e in errors)


def test_connection_is_renewed_after_max_per_connection(engine: Engine, sink: Sink) -> None:
    ids = fill(engine, 7)
    assert send_due(engine, smtp_mailer(sink, max_per_connection=3), SETTINGS, now=NOW).sent == 7
    assert sink.handler.connections == 3
    assert sink.received == {mid: 1 for mid in ids}
