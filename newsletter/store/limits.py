"""Rate limits, one of each kind, each in this process or shared over PostgreSQL.

A pace (``wait()``) spaces events ``1/rate`` seconds apart: a mailer's ``max_rate``. A window
(``allow(key, limit, window)``) lets at most ``limit`` events per key through in a window: the
sign-up limits. ``pace_for`` and ``window_for`` give the PostgreSQL kind, which every process
on the database shares, when the engine is PostgreSQL, and the in-process kind otherwise
(SQLite runs one process at a time; a restart forgets the counts, which at worst lets a few
more events through).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine

from newsletter.store.tables import pace, rate_counts

ROUND_TRIPS = 20.0  # at most this many reservations per second and limiter, above it: batches
CLEAN_EVERY = 600.0  # seconds between deletions of ended windows, per limiter
MAX_KEYS = 100_000  # an in-process window forgets its oldest keys beyond this: bounded memory


class Pace(Protocol):
    """Blocks until the caller's next turn."""

    def wait(self) -> None: ...


class Window(Protocol):
    """True (and counted) while ``key`` has had fewer than ``limit`` events in ``window``."""

    def allow(self, key: str, limit: int, window: timedelta) -> bool: ...


class NoPace:
    """No cap: every turn is now."""

    def wait(self) -> None:
        return None


NO_PACE = NoPace()
_local_paces: weakref.WeakKeyDictionary[Engine, dict[tuple[str, float], LocalPace]] = (
    weakref.WeakKeyDictionary()
)
_local_lock = threading.Lock()


def pace_for(engine: Engine, name: str, rate: float) -> Pace:
    """The pace called ``name``, ``rate`` events per second (0: no cap): on PostgreSQL one row
    that every process shares, otherwise one object that every caller in this process shares."""
    if rate <= 0:
        return NO_PACE
    if engine.dialect.name == "postgresql":
        return SharedPace(engine, name, rate)
    with _local_lock:
        return _local_paces.setdefault(engine, {}).setdefault((name, rate), LocalPace(rate))


def window_for(engine: Engine) -> Window:
    """Window counts: in the database on PostgreSQL, for every process; else in this one."""
    return SharedWindow(engine) if engine.dialect.name == "postgresql" else LocalWindow()


class LocalPace:
    """``wait()`` returns at the next slot of ``rate`` per second, shared by all threads; a
    slot nobody took is not caught up later, so there is never a burst."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0  # time.monotonic() of the next free slot
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


class LocalWindow:
    """A sliding window per key, kept in memory; the clock is injected for tests.

    (Not the ``limits`` library's memory storage: it reads ``time.time()`` itself, so a test
    would have to patch the library or sleep, and it keeps every key it has seen after its
    events expire, so memory grows with each new client or address.)
    """

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock
        self._events: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int, window: timedelta) -> bool:
        now = self.clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - window:
                events.popleft()
            if len(events) >= limit:
                return False
            events.append(now)
            while len(self._events) > MAX_KEYS:  # forget the oldest keys
                del self._events[next(iter(self._events))]
            return True


class SharedPace:
    """``wait()`` returns at this process's next slot of the pace called ``name``, which every
    process on the database shares.

    GCRA: one ``pace`` row per name holds the theoretical arrival time (``tat``), and one atomic
    UPDATE on the database clock reserves the next slots. Above ``ROUND_TRIPS`` events per
    second a call reserves a batch of slots; a slot still unused one batch span after its time
    is dropped, not caught up, so in any second the deployment goes over ``rate`` by one batch
    at most.
    """

    def __init__(self, engine: Engine, name: str, rate: float) -> None:
        self._engine, self._name = engine, name
        self._interval = 1.0 / rate
        self._most = max(1, int(rate / ROUND_TRIPS))  # slots per reservation, at most
        self._size = self._most
        self._dropped = False
        self._slots: deque[float] = deque()  # reserved slots, as time.monotonic() values
        self._lock = threading.Lock()  # the SMTP mailer waits from several threads

    def wait(self) -> None:
        with self._lock:
            slot = self._next()
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _next(self) -> float:
        stale = time.monotonic() - self._most * self._interval
        while self._slots and self._slots[0] <= stale:
            self._slots.popleft()
            self._dropped = True
        if not self._slots:
            # Reserve fewer after dropping some: this process sends slower than the pace.
            grown = min(self._most, self._size * 2)
            self._size = max(1, self._size // 2) if self._dropped else grown
            self._dropped = False
            self._slots.extend(self._reserve(self._size))
        return self._slots.popleft()

    def _reserve(self, count: int) -> list[float]:
        """Move ``tat`` on by ``count`` slots; their times, in this process's clock."""
        now, span = sa.func.clock_timestamp(), timedelta(seconds=count * self._interval)
        bump = (
            sa.update(pace)
            .where(pace.c.name == self._name)
            .values(tat=sa.func.greatest(pace.c.tat, now) + span)
            .returning(pace.c.tat, now)
        )
        with self._engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            row = conn.execute(bump).first()
            if row is None:  # the first use of this name
                conn.execute(insert(pace).values(name=self._name, tat=now).on_conflict_do_nothing())
                row = conn.execute(bump).one()
            # Measured after the reply: a slot can only come late, never early.
            end = time.monotonic() + (row[0] - row[1]).total_seconds()
        first = end - count * self._interval
        return [first + i * self._interval for i in range(count)]


class SharedWindow:
    """``allow(key, limit, window)`` counted once for every process on the database, in fixed
    windows aligned to the epoch (one upsert-increment; refusals are not counted); the clock
    is the database's unless one is injected.

    A burst across the edge of two windows can reach twice the limit. Rows of ended windows
    are deleted now and then.
    """

    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self._engine, self._clock = engine, clock
        self._cleaned = float("-inf")  # time.monotonic() of the last deletion

    def allow(self, key: str, limit: int, window: timedelta) -> bool:
        if limit < 1:
            return False
        now = sa.func.statement_timestamp() if self._clock is None else sa.literal(self._clock())
        seconds = window.total_seconds()
        starts = sa.func.to_timestamp(sa.func.floor(sa.extract("epoch", now) / seconds) * seconds)
        count = rate_counts.c.count
        upsert = insert(rate_counts).values(key=key, starts=starts, ends=starts + window, count=1)
        upsert = upsert.on_conflict_do_update(
            index_elements=[rate_counts.c.key, rate_counts.c.starts, rate_counts.c.ends],
            set_={"count": count + 1},
            where=count < limit,
        )
        with self._engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            counted = conn.execute(upsert.returning(count)).first() is not None
            self._clean(conn, now)
        return counted

    def _clean(self, conn: Connection, now: sa.ColumnElement[datetime]) -> None:
        if time.monotonic() - self._cleaned < CLEAN_EVERY:
            return
        self._cleaned = time.monotonic()
        conn.execute(sa.delete(rate_counts).where(rate_counts.c.ends <= now))
