"""The scheduler lease on both databases: one holder among racing processes, fail-over on expiry."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from newsletter.app.service import LEASE, LEASE_TTL
from newsletter.store import locks

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


def test_one_of_many_racing_schedulers_wins_and_a_standby_takes_over(
    open_db: Callable[..., Engine],
) -> None:
    engines = [open_db() for _ in range(4)]  # four "machines", each with its own pool
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def race(i: int) -> None:
        barrier.wait()
        if locks.acquire(engines[i % 4], LEASE, f"m{i}", now=NOW, ttl=LEASE_TTL):
            wins.append(f"m{i}")

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    leader, standby = wins[0], "standby"
    later = NOW + LEASE_TTL - timedelta(seconds=1)
    assert not locks.acquire(engines[1], LEASE, standby, now=later, ttl=LEASE_TTL)
    dead = NOW + LEASE_TTL + timedelta(seconds=1)  # the leader stopped renewing: it died
    assert locks.acquire(engines[2], LEASE, standby, now=dead, ttl=LEASE_TTL)
    assert not locks.acquire(engines[0], LEASE, leader, now=dead, ttl=LEASE_TTL)
    with engines[3].connect() as conn:
        holder = locks.holder(conn, LEASE)
    assert holder is not None and holder.owner == standby
