"""Rate limits shared by every process on one PostgreSQL database.

``SharedPace.wait()`` spaces events ``1/rate`` seconds apart over the whole deployment, as
GCRA: one ``pace`` row per name holds the theoretical arrival time (``tat``) and one atomic
UPDATE on the database clock reserves the next slots. Above ``ROUND_TRIPS`` events per
second a call reserves a batch of slots; a slot still unused one batch span after its time is
dropped, not caught up, so in any second the deployment goes over ``rate`` by one batch at most.

``SharedWindow.allow(key, limit, window)`` counts events in fixed windows aligned to the epoch
(one upsert-increment; refusals are not counted). A burst across the edge of two windows can
reach twice the limit. Rows of ended windows are deleted now and then.

On SQLite (one process at a time) ``shared_pace`` and ``shared_window`` return None and the
callers keep their in-process limiters.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine

from newsletter.store.tables import pace, rate_counts

ROUND_TRIPS = 20.0  # at most this many reservations per second and limiter, above it: batches
CLEAN_EVERY = 600.0  # seconds between deletions of ended windows, per limiter


def shared_pace(engine: Engine, name: str, rate: float) -> SharedPace | None:
    """A pace of ``rate`` events per second over every process on ``engine``.

    None when there is no rate or the database is not PostgreSQL.
    """
    if rate <= 0 or engine.dialect.name != "postgresql":
        return None
    return SharedPace(engine, name, rate)


def shared_window(engine: Engine) -> SharedWindow | None:
    """Window counts shared by every process on ``engine``; None unless it is PostgreSQL."""
    return SharedWindow(engine) if engine.dialect.name == "postgresql" else None


class SharedPace:
    """``wait()`` returns at this process's next slot of the pace called ``name``."""

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
    """``allow(key, limit, window)``: True (and counted) while ``key`` has fewer than ``limit``
    events in the current window; the clock is the database's unless one is injected."""

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
