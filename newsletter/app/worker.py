"""The worker: a process that only sends, claiming outbox batches until it is told to stop.

Any number of workers on any machines share one PostgreSQL outbox (rows are claimed with
SELECT ... FOR UPDATE SKIP LOCKED under a lease); on SQLite one worker runs at a time and a
second one (or one restarted after a crash) waits for the first one's lease. With nothing due a
worker sleeps ``idle_seconds``, or until the soonest retry falls due if that is sooner.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from newsletter.config import DeliverySettings
from newsletter.delivery.base import Mailer
from newsletter.delivery.outbox import (
    Build,
    SendReport,
    default_owner,
    seconds_until_due,
    send_due,
)
from newsletter.errors import DeliveryError
from newsletter.store import locks
from newsletter.store.db import is_sqlite

SQLITE_LEASE = "worker"  # on SQLite the one running worker holds this lease
SQLITE_TTL = timedelta(seconds=30)  # a killed worker's successor waits at most this long
LEASE_POLL = 5.0  # seconds between looks at a lease another worker holds
RECONNECT = (1.0, 60.0)  # first and longest wait while the database is unreachable
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Worker:
    """``concurrency`` send loops, each with its own mailer, until ``stop()`` or (once) empty."""

    def __init__(
        self,
        engine: Engine,
        mailers: Callable[[], Mailer],
        settings: DeliverySettings,
        *,
        concurrency: int = 1,
        idle_seconds: float = 5.0,
        owner: str | None = None,
        clock: Clock = utcnow,
        warn: Callable[[str], None] | None = None,
        build: Build | None = None,
        channels: Callable[[], Mailer] | None = None,
    ) -> None:
        """``build`` renders issue rows (see ``send_due``); without it, only whole messages;
        ``channels`` makes each loop's poster of team channels' rows."""
        if concurrency < 1:
            raise ValueError("concurrency must be 1 or more")
        self.engine, self.mailers, self.settings = engine, mailers, settings
        self.concurrency, self.idle_seconds, self.build = concurrency, idle_seconds, build
        self.channels = channels
        self.owner = owner or default_owner()
        self.clock = clock
        self.warn = warn or (lambda _line: None)
        self.totals = SendReport()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._failures: list[BaseException] = []

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Finish the batch in hand (its results are recorded), then return from ``run``."""
        self._stop.set()

    def run(
        self,
        *,
        once: bool = False,
        progress: Callable[[SendReport], None] | None = None,
        progress_seconds: float = 60.0,
    ) -> SendReport:
        """Send until stopped (``once``: until nothing is due); returns the totals.

        On SQLite it first waits for the worker lease (see ``_take_sqlite_lease``)."""
        if not self._take_sqlite_lease():
            return self.totals
        try:
            threads = [
                threading.Thread(
                    target=self._guarded, args=(i, once), name=f"worker-{i}", daemon=True
                )
                for i in range(self.concurrency)
            ]
            for thread in threads:
                thread.start()
            self._watch(threads, progress, progress_seconds)
        finally:
            self._release_sqlite_lease()
        if self._failures:
            raise self._failures[0]
        return self.totals

    def _watch(
        self,
        threads: list[threading.Thread],
        progress: Callable[[SendReport], None] | None,
        every: float,
    ) -> None:
        """Wait for the loops in the main thread (so signals arrive), renewing the lease."""
        last_report = last_renew = time.monotonic()
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(timeout=0.5)
            now = time.monotonic()
            if now - last_renew >= SQLITE_TTL.total_seconds() / 3:
                last_renew = now
                self._renew_sqlite_lease()
            if progress is not None and now - last_report >= every:
                last_report = now
                progress(self.totals)

    def _guarded(self, index: int, once: bool) -> None:
        try:
            self._loop(index, once)
        except BaseException as exc:  # handed to the main thread, which re-raises it
            self._failures.append(exc)
            self._stop.set()

    def _loop(self, index: int, once: bool) -> None:
        owner = self.owner if self.concurrency == 1 else f"{self.owner}/{index}"
        size = self.settings.batch_size
        channels = self.channels() if self.channels is not None else None
        with self.mailers() as mailer, channels or nullcontext():
            pause = RECONNECT[0]
            while not self._stop.is_set():
                try:
                    report = send_due(self.engine, mailer, self.settings, owner=owner, limit=size,
                                      build=self.build, channels=channels)
                except OperationalError as exc:
                    if once:
                        raise DeliveryError(self._unreachable(exc)) from None
                    self.warn(f"{self._unreachable(exc)}; trying again in {pause:.0f} s")
                    self._stop.wait(pause)
                    pause = min(pause * 2, RECONNECT[1])
                    continue
                pause = RECONNECT[0]
                self._add(report)
                if report.handled == 0:
                    if once:
                        return
                    self._stop.wait(self._idle())

    def _idle(self) -> float:
        """How long to sleep with nothing due: ``idle_seconds``, or less when a retry falls
        due sooner (a row refused with 451 goes again when its backoff ends)."""
        try:
            due = seconds_until_due(self.engine, issues=self.build is not None,
                                    now=self.clock())
        except OperationalError as exc:  # the next pass reports it again and backs off
            self.warn(f"{self._unreachable(exc)}; trying again in {RECONNECT[0]:.0f} s")
            return RECONNECT[0]
        return self.idle_seconds if due is None else min(self.idle_seconds, max(due, 0.05))

    def _unreachable(self, exc: OperationalError) -> str:
        """One line naming the database (password hidden) and the driver's first line."""
        url = self.engine.url.render_as_string(hide_password=True)
        first = str(exc.orig or exc).strip().splitlines() or ["no detail"]
        return f"{url}: database unreachable ({first[0]})"

    def _add(self, report: SendReport) -> None:
        with self._lock:
            self.totals = self.totals + report
            del self.totals.errors[100:]  # enough to tell what went wrong, bounded

    def _take_sqlite_lease(self) -> bool:
        """Hold the SQLite lease; while another worker holds it (or a killed one's lease has
        not run out yet), say so once and wait. False when stopped while waiting."""
        if not is_sqlite(self.engine):
            return True
        said = False
        while not self._stop.is_set():
            now = self.clock()
            if locks.acquire(self.engine, SQLITE_LEASE, self.owner, now=now, ttl=SQLITE_TTL):
                if said:
                    self.warn(f"{self._where()}: took the worker lease; sending")
                return True
            with self.engine.connect() as conn:
                other = locks.holder(conn, SQLITE_LEASE)
            if not said:
                who = f"{other.owner}, lease until {other.until:%H:%M:%S} UTC" if other else "?"
                self.warn(
                    f"{self._where()}: another worker holds the lease ({who}); waiting for it "
                    "(a killed worker's lease runs out within "
                    f"{SQLITE_TTL.total_seconds():.0f} s; SQLite runs one worker at a time, "
                    "use PostgreSQL to run several)")
                said = True
            left = (other.until - now).total_seconds() if other else 1.0
            self._stop.wait(min(max(left, 0.1), LEASE_POLL))
        return False

    def _where(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def _renew_sqlite_lease(self) -> None:
        """Renew the lease (a third of its life in): a database busy or gone for a moment is
        a warning, tried again at the next renewal, which comes well before the lease ends."""
        if not is_sqlite(self.engine):
            return
        try:
            held = locks.acquire(
                self.engine, SQLITE_LEASE, self.owner, now=self.clock(), ttl=SQLITE_TTL
            )
        except OperationalError as exc:
            self.warn(f"{self._unreachable(exc)}; the worker's lease is renewed again soon")
            return
        if not held:
            self.stop()  # another worker took over while this one stalled: let it work alone

    def _release_sqlite_lease(self) -> None:
        if is_sqlite(self.engine):
            locks.release(self.engine, SQLITE_LEASE, self.owner, now=self.clock())


def database_kind(engine: Engine) -> str:
    """How the worker shares its database, for its start-up line."""
    return "SQLite, one worker at a time" if is_sqlite(engine) else engine.dialect.name
