"""The worker on SQLite and PostgreSQL: sends all once, stops cleanly, one per SQLite file."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from newsletter.app import worker as worker_module
from newsletter.app.worker import Worker
from newsletter.config import Config
from newsletter.delivery.base import Mailer, mailer_from_config
from newsletter.store import open_engine
from tests.delivery.smtp_sink import Sink

from .conftest import fill_outbox, statuses
from .tcp_proxy import Proxy


def smtp_config(make_config: Callable[..., Config], port: int, batch: int = 20) -> Config:
    mailer = {
        "backend": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "timeout": 10,
    }
    return make_config({"delivery": {"batch_size": batch}, "mailers": {"default": mailer}})


def mailers(config: Config) -> Callable[[], Mailer]:
    return lambda: mailer_from_config(config)


def test_three_send_loops_send_every_message_exactly_once(
    open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    engine = open_db()
    ids = fill_outbox(engine, 150)
    with Sink() as sink:
        config = smtp_config(make_config, sink.port)
        worker = Worker(engine, mailers(config), config.delivery, concurrency=3)
        totals = worker.run(once=True)
        received = dict(sink.received)
    assert set(received) == ids
    assert set(received.values()) == {1}
    assert totals.sent == 150 and totals.failed == 0
    assert statuses(engine) == {"sent": 150}
    assert sink.handler.connections >= 3  # each loop had its own connection


def test_stop_finishes_the_batch_in_hand_and_leaves_nothing_claimed(
    open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    engine = open_db()
    ids = fill_outbox(engine, 400)
    with Sink(data_delay=0.01) as sink:
        config = smtp_config(make_config, sink.port, batch=10)
        worker = Worker(engine, mailers(config), config.delivery, idle_seconds=0.2)
        done: list[int] = []
        thread = threading.Thread(target=lambda: done.append(worker.run().sent))
        thread.start()
        _wait(lambda: sum(sink.received.values()) >= 25)
        worker.stop()
        thread.join(timeout=10)
        received = dict(sink.received)
    assert not thread.is_alive() and done
    counts = statuses(engine)
    assert "sending" not in counts, "a stopped worker left claimed rows behind"
    assert counts["sent"] == done[0] == len(received) < len(ids)
    assert counts["queued"] == len(ids) - done[0]
    assert set(received.values()) == {1}


@pytest.mark.slow
def test_a_database_outage_while_idle_is_reported_in_one_line_and_sending_resumes(
    open_db: Callable[..., Engine], make_config: Callable[..., Config],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database fails as the idle worker asks when the next row falls due: the loop
    warns in one line, waits, and sends a message queued afterwards."""
    engine = open_db()
    real = worker_module.seconds_until_due
    failed = threading.Event()

    def down_once(*args: object, **kwargs: object) -> float | None:
        if not failed.is_set():
            failed.set()
            raise OperationalError("SELECT next_attempt", {}, Exception("connection refused"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(worker_module, "seconds_until_due", down_once)
    monkeypatch.setattr(worker_module, "RECONNECT", (0.05, 0.1))
    warnings: list[str] = []
    with Sink() as sink:
        worker = Worker(engine, mailers(smtp_config(make_config, sink.port)),
                        make_config({}).delivery, idle_seconds=0.1, warn=warnings.append)
        thread = threading.Thread(target=worker.run)
        thread.start()
        _wait(failed.is_set)
        ids = fill_outbox(engine, 2)
        _wait(lambda: set(sink.received) == ids)
        worker.stop()
        thread.join(timeout=20)
    assert not thread.is_alive() and statuses(engine) == {"sent": 2}
    (line,) = warnings
    assert "database unreachable (connection refused)" in line and "\n" not in line


def test_a_busy_sqlite_file_at_lease_renewal_is_a_warning_not_a_crash(
    tmp_path: Path, make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Renewing the SQLite lease meets a locked file once: one line, the worker goes on, and
    the next renewal keeps the lease."""
    engine = open_engine(f"sqlite:///{tmp_path}/w.db")
    real = worker_module.locks.acquire
    calls: list[int] = []

    def locked_once(*args: object, **kwargs: object) -> bool:
        calls.append(1)
        if len(calls) == 2:  # the first renewal; the first call took the lease
            raise OperationalError("UPDATE locks", {}, Exception("database is locked"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(worker_module.locks, "acquire", locked_once)
    warnings: list[str] = []
    worker = Worker(engine, lambda: None, make_config({}).delivery,  # type: ignore[arg-type,return-value]
                    warn=warnings.append)
    assert worker._take_sqlite_lease()
    worker._renew_sqlite_lease()
    worker._renew_sqlite_lease()
    worker._release_sqlite_lease()
    engine.dispose()
    assert not worker.stopping and len(calls) == 3
    (line,) = warnings
    assert "database unreachable (database is locked)" in line and "renewed again soon" in line


def test_a_database_outage_is_reported_in_one_line_and_sending_resumes(
    pg_url: str, make_config: Callable[..., Config]
) -> None:
    """Cut the worker's connection to PostgreSQL mid-run: it waits, retries, and finishes."""
    from newsletter.store import open_engine

    direct = open_engine(pg_url)
    ids = fill_outbox(direct, 300)
    url = make_url(pg_url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = open_engine(url.set(port=proxy.port).render_as_string(hide_password=False))
    warnings: list[str] = []
    with Sink(data_delay=0.005) as sink:
        config = make_config({
            "delivery": {"batch_size": 10, "lease_seconds": 2},
            "mailers": {"default": {"backend": "smtp", "host": "127.0.0.1", "port": sink.port,
                                    "security": "none", "timeout": 10}},
        })
        worker = Worker(proxied, mailers(config), config.delivery, idle_seconds=0.2,
                        warn=warnings.append)
        thread = threading.Thread(target=worker.run)
        thread.start()
        _wait(lambda: sum(sink.received.values()) >= 50)
        proxy.cut()
        _wait(lambda: bool(warnings))
        time.sleep(1.5)
        proxy.restore()
        _wait(lambda: set(sink.received) == ids, timeout=60)
        worker.stop()
        thread.join(timeout=20)
        received = dict(sink.received)
    proxy.close()
    assert not thread.is_alive()
    assert all("\n" not in w and "database unreachable" in w and "trying again" in w
               for w in warnings)
    assert str(proxy.port) in warnings[0] and "@" in warnings[0]
    assert statuses(direct) == {"sent": 300}
    repeated = [mid for mid, n in received.items() if n > 1]
    assert len(repeated) <= 1, "only the message in flight at the cut may go out twice"
    proxied.dispose()
    direct.dispose()


def _wait(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)
