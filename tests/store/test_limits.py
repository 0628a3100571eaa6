"""Rate limits: a mailer's pace and the sign-up windows, shared over PostgreSQL, in the process
on SQLite. The acceptance tests run two real processes against one SMTP relay and one HTTP
provider: with ``max_rate`` 10 they deliver at 10 per second together, not 10 each.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from newsletter.config import DeliverySettings, MailerSettings, Secrets
from newsletter.delivery.base import MailerEnv, create_mailer, share_pace
from newsletter.delivery.message import make_message_id
from newsletter.delivery.outbox import send_due
from newsletter.delivery.smtp import SmtpMailer
from newsletter.models import OutgoingEmail
from newsletter.store import open_engine
from newsletter.store import outbox as store
from newsletter.store.limits import (
    NO_PACE,
    LocalPace,
    LocalWindow,
    SharedPace,
    SharedWindow,
    pace_for,
    window_for,
)
from newsletter.store.tables import rate_counts
from tests.delivery.http_fake import FakeApi, Reply, Request
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
        pace = pace_for(engine, "mailer:relay", RATE)
        assert isinstance(pace, LocalPace)
        assert pace_for(engine, "mailer:relay", RATE) is pace  # one pace per name and process
        assert pace_for(engine, "mailer:other", RATE) is not pace
        assert pace_for(engine, "mailer:relay", 0) is NO_PACE
        assert isinstance(window_for(engine), LocalWindow)
        mailer = relay_mailer(25, RATE)
        share_pace(mailer, engine)
        assert mailer.pace is pace
    finally:
        engine.dispose()


def test_on_postgresql_the_smtp_mailer_gets_the_shared_pace(engines: list[Engine]) -> None:
    mailer = relay_mailer(25, RATE)
    share_pace(mailer, engines[0])
    assert isinstance(mailer.pace, SharedPace)
    assert pace_for(engines[0], "mailer:relay", 0) is NO_PACE  # no max_rate: nothing to share
    assert isinstance(window_for(engines[0]), SharedWindow)


def test_the_local_pace_spaces_turns_over_threads_without_catching_up() -> None:
    pace = LocalPace(50.0)
    times: list[float] = []

    def take_five() -> None:
        for _ in range(5):
            pace.wait()
            times.append(time.monotonic())

    threads = [threading.Thread(target=take_five) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(times) - min(times) >= 9 / 50.0 - 0.005
    time.sleep(0.1)  # five turns nobody took ...
    started = time.monotonic()
    pace.wait()
    pace.wait()
    assert time.monotonic() - started >= 1 / 50.0 - 0.005  # ... are not a burst now


def test_two_paces_share_the_rate_in_batches(engines: list[Engine]) -> None:
    rate, each = 100.0, 50  # above 20/s: 5 slots per round trip
    updates: list[str] = []
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", lambda *a: updates.append(a[2]))
    times: list[float] = []

    def run(engine: Engine) -> None:
        pace = pace_for(engine, "bulk", rate)
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
    pace = pace_for(engines[0], "slow", 100.0)  # batches of 5, 10 ms apart
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


def accepted(_req: Request) -> Reply:
    """SendGrid's answer to a message it queued."""
    return Reply(202, None, {"X-Message-Id": uuid.uuid4().hex})


def send_due_in_another_process(url: str, api_url: str, start: Any, sent: Any) -> None:
    """Run in a spawned process: send what is due through SendGrid, with ``max_rate``."""
    engine = open_engine(url, upgrade=False)
    env = MailerEnv(Secrets({"NEWSLETTER_MAILER_API_API_KEY": "sg-test"}), Path("."))
    options = {"base_url": api_url, "max_rate": RATE}
    mailer = create_mailer("api", MailerSettings("sendgrid", options), env)
    start.wait()
    report = send_due(engine, mailer, DeliverySettings(batch_size=3), now=NOW)
    engine.dispose()
    sent.put(report.sent)


@pytest.mark.slow
def test_two_processes_share_an_api_mailers_max_rate(engines: list[Engine], pg_url: str) -> None:
    with engines[0].begin() as conn:
        for i in range(2 * EACH):
            store.enqueue(conn, message("api", i), issue_id="2026-06-01", now=NOW)
    spawn = multiprocessing.get_context("spawn")
    start, sent = spawn.Barrier(2), spawn.Queue()
    with FakeApi(accepted) as api:
        workers = [
            spawn.Process(target=send_due_in_another_process, args=(pg_url, api.url, start, sent))
            for _ in range(2)
        ]
        for p in workers:
            p.start()
        for p in workers:
            p.join(timeout=30)
        assert [p.exitcode for p in workers] == [0, 0]
    counts = sorted(sent.get(timeout=5) for _ in workers)
    assert sum(counts) == 2 * EACH and counts[0] >= 3  # both processes sent, taking turns
    times = [r.received for r in api.requests]
    assert len(times) == 2 * EACH
    assert windows_over(times, RATE + 1) == []  # + one for the jitter of arrival times
    assert max(times) - min(times) >= (2 * EACH - 1) / RATE - 0.05
