"""Sliding-window rate limits kept in memory: N events per key per window, clock injected.

Used on SQLite, where one web process runs: restarting it forgets the counts, which at worst
lets a few more confirmation emails through. On PostgreSQL the site counts in the database
instead (``store/limits.py``), so that every web process shares the limits.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

MAX_KEYS = 100_000  # beyond this the oldest keys are forgotten, so memory stays bounded


class RateLimiter:
    """``allow(key, limit, window)`` counts an event unless ``limit`` were already seen."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock
        self._events: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int, window: timedelta) -> bool:
        """True (and counted) when fewer than ``limit`` events of ``key`` fall in ``window``."""
        now = self.clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - window:
                events.popleft()
            if len(events) >= limit:
                return False
            events.append(now)
            self._forget_oldest()
            return True

    def _forget_oldest(self) -> None:
        while len(self._events) > MAX_KEYS:
            del self._events[next(iter(self._events))]
