"""Rate limits shared over PostgreSQL: the SMTP pace and the sign-up windows, and the SQLite
fallback to in-process limiters. The acceptance test runs two real processes against one
relay: with ``max_rate`` 10 they deliver at 10 per second together, not 10 each.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from newsletter.config import MailerSettings, Secrets
from newsletter.delivery.base import MailerEnv, create_mailer
from newsletter.delivery.message import make_message_id
from newsletter.delivery.smtp import SmtpMailer, share_pace
from newsletter.models import OutgoingEmail
from newsletter.store import open_engine
from newsletter.store.limits import SharedPace, SharedWindow, shared_pace, shared_window
from newsletter.store.tables import rate_counts
from tests.delivery.smtp_sink import FaultyHandler, Sink

RATE = 10.0  # messages per second, over both processes
EACH = 15  # messages per process
HOUR = timedelta(hours=1)
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engines(pg_url: str) -> Iterator[list[Engine]]:
    """Two engines (two "machines", each with its own pool) on one migrated database."""
    opened = [open_engine(pg_url) for _ in range(2)]
    yield opened
    for engine in opened:
        engine.dispose()


def relay_mailer(port: int, max_rate: float) -> SmtpMailer:
    options = {"host": "127.0.0.1", "port": port, "security": "none", "max_rate": max_rate}
    env = MailerEnv(Secrets({}), Path("."))
    mailer = create_mailer("relay", MailerSettings("smtp", options), env)
    assert isinstance(mailer, SmtpMailer)
    return mailer


def message(tag: str, i: int) -> OutgoingEmail:
    sender = "Paper Digest <digest@news.example.org>"
    return OutgoingEmail(
        message_id=make_message_id(sender),
        sender=sender,
        to=f"reader{i}@example.com",
        subject=f"{tag} {i}",
        text="Hello\n",
        html="<p>Hello</p>",
    )


def windows_over(times: list[float], limit: float) -> list[int]:
    """The counts above ``limit`` in the 1 s windows that start at each event."""
    times = sorted(times)
    counts = [sum(1 for u in times if t <= u < t + 1.0) for t in times]
    return [c for c in counts if c > limit]


def test_on_sqlite_every_limit_stays_in_the_process(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        assert shared_pace(engine, "smtp:relay", RATE) is None
        assert shared_window(engine) is None
        mailer = relay_mailer(25, RATE)
        share_pace(mailer, engine)
        assert mailer.pace is None  # the mailer's own RateLimiter
    finally:
        engine.dispose()


def test_on_postgresql_the_smtp_mailer_gets_the_shared_pace(engines: list[Engine]) -> None:
    mailer = relay_mailer(25, RATE)
    share_pace(mailer, engines[0])
    assert isinstance(mailer.pace, SharedPace)
    assert shared_pace(engines[0], "smtp:relay", 0) is None  # no max_rate: nothing to share
    assert isinstance(shared_window(engines[0]), SharedWindow)


def test_two_paces_share_the_rate_in_batches(engines: list[Engine]) -> None:
    rate, each = 100.0, 50  # above 20/s: 5 slots per round trip
    updates: list[str] = []
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", lambda *a: updates.append(a[2]))
    times: list[float] = []

    def run(engine: Engine) -> None:
        pace = shared_pace(engine, "bulk", rate)
        assert pace is not None
        for _ in range(each):
            pace.wait()
            times.append(time.monotonic())

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The pace runs on PostgreSQL's clock, so these are real times; a lower bound holds on any load.
    assert max(times) - min(times) >= (2 * each - 1) / rate - 0.01
    # A starved thread can note a few times late, beside on-time ones: the bound sits halfway
    # between one shared pace (100 a second) and none (200), a margin a loaded machine keeps.
    assert windows_over(times, rate * 1.5) == []
    reservations = [s for s in updates if s.startswith("UPDATE pace")]
    assert len(reservations) <= 2 * each / 5 + 4  # a round trip per batch, not per message


def test_slots_left_unused_are_dropped_not_caught_up(engines: list[Engine]) -> None:
    pace = shared_pace(engines[0], "slow", 100.0)  # batches of 5, 10 ms apart
    assert pace is not None
    pace.wait()  # four slots left in hand
    time.sleep(0.2)  # ... and all of them stale now
    started = time.monotonic()
    for _ in range(5):
        pace.wait()
    # Real time (the database's clock paces it); a lower bound, which load only makes easier.
    assert time.monotonic() - started >= 0.035  # spaced again, not a burst of four


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_windows_are_counted_once_for_all_processes(engines: list[Engine]) -> None:
    clock = Clock(NOW)
    a, b = (SharedWindow(e, clock) for e in engines)
    assert [w.allow("client:1", 3, HOUR) for w in (a, b, a, b)] == [True, True, True, False]
    assert b.allow("client:2", 3, HOUR)  # other keys have their own count
    assert a.allow("client:1", 3, timedelta(days=1))  # and so has another window length
    clock.now = NOW + timedelta(minutes=59)
    assert not a.allow("client:1", 3, HOUR)  # refusals are not counted, the window holds
    clock.now = NOW + HOUR
    assert b.allow("client:1", 3, HOUR)  # a new window
    clock.now = NOW + timedelta(days=2)
    SharedWindow(engines[0], clock).allow("client:3", 1, HOUR)  # a new limiter cleans up first
    with engines[0].connect() as conn:
        assert conn.execute(sa.select(rate_counts.c.key)).scalars().all() == ["client:3"]


def test_racing_processes_never_count_past_the_limit(engines: list[Engine]) -> None:
    windows = [SharedWindow(e) for e in engines]  # on the database clock
    barrier, allowed = threading.Barrier(16), []

    def race(i: int) -> None:
        barrier.wait()
        allowed.append(windows[i % 2].allow("address:ada@example.org", 5, HOUR))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(allowed) == [False] * 11 + [True] * 5
    assert not windows[0].allow("address:ada@example.org", 0, HOUR)  # limit 0: nothing goes


class Arrivals(FaultyHandler):
    """Accepts mail and notes when each message arrived, with its subject."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[tuple[float, str]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        assert isinstance(envelope.content, bytes)
        lines = envelope.content.splitlines()
        subject = next(line[9:].decode() for line in lines if line.startswith(b"Subject: "))
        self.arrived.append((time.monotonic(), subject))
        return reply


def send_from_another_process(url: str, port: int, tag: str, start: Any) -> None:
    """Run in a spawned process: send ``EACH`` messages through a mailer with the shared pace."""
    engine = open_engine(url, upgrade=False)
    mailer = share_pace(relay_mailer(port, RATE), engine)
    with mailer:
        mailer.send_messages([message("warm-up", 0)])  # connected before the clock starts
        start.wait()
        results = mailer.send_messages([message(tag, i) for i in range(EACH)])
    engine.dispose()
    if any(r.status != "sent" for r in results):
        raise SystemExit(f"{tag}: not every message was sent")


@pytest.mark.slow
def test_two_processes_with_max_rate_10_send_at_10_per_second_together(
    engines: list[Engine], pg_url: str
) -> None:
    sink = Sink()
    handler = Arrivals()
    sink.handler = sink.controller.handler = handler
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(2)
    with sink:
        workers = [
            spawn.Process(target=send_from_another_process, args=(pg_url, sink.port, tag, start))
            for tag in ("A", "B")
        ]
        for p in workers:
            p.start()
        for p in workers:
            p.join(timeout=30)
        assert [p.exitcode for p in workers] == [0, 0]
    # Real processes paced on PostgreSQL's clock, so real times. A starved sender or sink
    # bunches a few late arrivals with on-time ones (12 in a second once, on a loaded 2-core
    # machine), so the bound sits halfway between one shared pace (10, 11 with one slot's
    # batch) and none (20).
    assert windows_over([t for t, _ in handler.arrived], RATE * 1.5) == []
    times = [t for t, s in handler.arrived if s != "warm-up 0"]
    assert len(times) == 2 * EACH
    # Slots are exactly 0.1 s apart; a little for the relay's varying reply times.
    assert max(times) - min(times) >= (2 * EACH - 1) / RATE - 0.05
    spans = {tag: [t for t, s in handler.arrived if s.startswith(tag)] for tag in ("A", "B")}
    assert min(spans["A"]) < max(spans["B"]) and min(spans["B"]) < max(spans["A"])  # together
