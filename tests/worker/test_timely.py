"""Timely retries and restarts (issue 24, item 5), on SQLite and PostgreSQL.

A message refused with 451 goes again when its backoff ends: the web process's background
sender and an idle worker sleep until the soonest next attempt, not until the next poke, tick
or idle period. A worker started while a killed one's SQLite lease still runs waits for the
lease (saying so in one line) instead of exiting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from newsletter.app import background_send
from newsletter.app.background_send import SendSoon
from newsletter.app.worker import SQLITE_LEASE, Worker
from newsletter.config import Config, DeliverySettings
from newsletter.delivery.base import Mailer
from newsletter.store import locks, open_engine
from tests.delivery.smtp_sink import Sink

from .conftest import fill_outbox, statuses
from .test_worker import _wait, mailers, smtp_config

QUICK = DeliverySettings(retry_base=0.5, retry_max=1.0, max_attempts=4, batch_size=10)


def test_the_background_sender_retries_a_451_when_it_falls_due(
    open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    engine = open_db()
    ids = fill_outbox(engine, 2)  # whole messages, as sign-up confirmations are
    with Sink() as sink:
        sink.handler.add("RCPT", "451 4.7.1 greylisted, try again in a moment")
        config = smtp_config(make_config, sink.port)
        sender = SendSoon(engine, mailers(config), QUICK)
        sender.poke()  # once, as a sign-up does; nothing pokes it again
        _wait(lambda: set(sink.received) == ids)
    _wait(lambda: statuses(engine) == {"sent": 2})
    assert set(sink.received.values()) == {1}


def test_the_background_sender_logs_an_unexpected_error_and_keeps_sending(
    open_db: Callable[..., Engine], make_config: Callable[..., Config],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception no handler expects (a bug in a mailer) is logged in one line with the
    exception, and the thread lives on: the next pass sends."""
    monkeypatch.setattr(background_send, "AFTER_ERROR", 0.05)
    engine = open_db()
    ids = fill_outbox(engine, 2)
    calls: list[int] = []
    with Sink() as sink:
        real = mailers(smtp_config(make_config, sink.port))

        def flaky() -> Mailer:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("mailer bug")
            return real()

        with caplog.at_level(logging.ERROR, logger="newsletter.send"):
            SendSoon(engine, flaky, QUICK).poke()  # once; nothing pokes it again
            _wait(lambda: set(sink.received) == ids)
    _wait(lambda: statuses(engine) == {"sent": 2})
    (record,) = [r for r in caplog.records if r.name == "newsletter.send"]
    assert "\n" not in record.getMessage() and record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


def test_an_idle_worker_wakes_when_a_retry_falls_due(
    open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    engine = open_db()
    ids = fill_outbox(engine, 3)
    with Sink() as sink:
        sink.handler.add("RCPT", "451 4.7.1 greylisted")
        config = smtp_config(make_config, sink.port)
        worker = Worker(engine, mailers(config), QUICK, idle_seconds=600)  # a long idle
        thread = threading.Thread(target=worker.run)
        thread.start()
        try:
            _wait(lambda: set(sink.received) == ids)
        finally:
            worker.stop()
            thread.join(timeout=20)
    assert not thread.is_alive()
    assert statuses(engine) == {"sent": 3} and set(sink.received.values()) == {1}


def test_a_restarted_worker_waits_for_a_killed_workers_sqlite_lease(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'one.db'}")
    ids = fill_outbox(engine, 2)
    # What a worker killed with -9 leaves: its lease, running out in a moment.
    now = datetime.now(UTC)
    assert locks.acquire(engine, SQLITE_LEASE, "host:1:killed", now=now,
                         ttl=timedelta(seconds=1))
    lines: list[str] = []
    with Sink() as sink:
        config = smtp_config(make_config, sink.port)
        worker = Worker(engine, mailers(config), config.delivery, owner="host:2:new",
                        warn=lines.append)
        totals = worker.run(once=True)  # the old code raised WorkerBusy here
        received = dict(sink.received)
    assert totals.sent == 2 and set(received) == ids
    waiting = lines[0]
    assert "\n" not in waiting and "one.db" in waiting and "host:1:killed" in waiting
    assert "waiting for it" in waiting
    assert lines[-1].endswith("took the worker lease; sending")
    engine.dispose()


def test_a_waiting_worker_stops_when_asked(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'one.db'}")
    now = datetime.now(UTC)
    assert locks.acquire(engine, SQLITE_LEASE, "host:1:alive", now=now, ttl=timedelta(hours=1))
    lines: list[str] = []
    config = smtp_config(make_config, 9)
    worker = Worker(engine, mailers(config), config.delivery, owner="host:2:second",
                    warn=lines.append)
    thread = threading.Thread(target=worker.run)
    thread.start()
    _wait(lambda: bool(lines))
    worker.stop()
    thread.join(timeout=10)
    assert not thread.is_alive() and len(lines) == 1 and "host:1:alive" in lines[0]
    with engine.connect() as conn:
        holder = locks.holder(conn, SQLITE_LEASE)
    assert holder is not None and holder.owner == "host:1:alive"  # untouched
    engine.dispose()
