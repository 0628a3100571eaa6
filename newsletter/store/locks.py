"""Named leases in the database: one holder at a time, taken over once the holder's lease expires.

A scheduler renews its lease on every tick; a second scheduler on the same database finds the
lease held and stays idle until the holder stops renewing (crash) or releases it (shutdown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsletter.store.db import utc
from newsletter.store.tables import leases


@dataclass(frozen=True)
class Holder:
    """Who holds a lease and until when."""

    owner: str
    until: datetime


def holder(conn: Connection, name: str) -> Holder | None:
    row = conn.execute(sa.select(leases.c.owner, leases.c.until).where(leases.c.name == name))
    found = row.first()
    return Holder(found.owner, utc(found.until)) if found else None


def acquire(engine: Engine, name: str, owner: str, *, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``owner`` until ``now + ttl``; False if held by another.

    The update is conditional on the row still saying what was read, so of two processes racing
    for an expired lease exactly one wins.
    """
    now = utc(now)
    try:
        with engine.begin() as conn:
            return _acquire(conn, name, owner, now, now + ttl)
    except sa.exc.IntegrityError:  # another process inserted the first row at the same moment
        return False


def _acquire(conn: Connection, name: str, owner: str, now: datetime, until: datetime) -> bool:
    query = sa.select(leases).where(leases.c.name == name).with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        conn.execute(sa.insert(leases).values(name=name, owner=owner, until=until, acquired_at=now))
        return True
    if row["owner"] != owner and utc(row["until"]) > now:
        return False
    same = (leases.c.name == name) & (leases.c.owner == row["owner"])
    same &= leases.c.until == row["until"]
    values = {"owner": owner, "until": until}
    if row["owner"] != owner:
        values["acquired_at"] = now
    return bool(conn.execute(sa.update(leases).where(same).values(values)).rowcount)


def release(engine: Engine, name: str, owner: str, *, now: datetime) -> bool:
    """Give the lease up at once (on a clean shutdown) so another process need not wait.

    The row stays, so ``last_done`` still knows when work was last finished.
    """
    with engine.begin() as conn:
        mine = (leases.c.name == name) & (leases.c.owner == owner)
        done = conn.execute(sa.update(leases).where(mine).values(until=utc(now)))
        return bool(done.rowcount)


def mark_done(engine: Engine, name: str, owner: str, *, now: datetime) -> bool:
    """Record that the holder finished a round of work at ``now``; False if it lost the lease."""
    with engine.begin() as conn:
        mine = (leases.c.name == name) & (leases.c.owner == owner)
        done = conn.execute(sa.update(leases).where(mine).values(done_at=utc(now)))
        return bool(done.rowcount)


def last_done(engine: Engine, name: str) -> datetime | None:
    """When any holder of ``name`` last finished a round of work (None: never)."""
    with engine.connect() as conn:
        query = sa.select(leases.c.done_at).where(leases.c.name == name)
        found = conn.execute(query).scalar()
    return utc(found) if found is not None else None


def note_done(engine: Engine, name: str, *, now: datetime) -> None:
    """Record that work called ``name`` (no lease: anyone may do it) finished at ``now``."""
    with engine.begin() as conn:
        stamp = {"done_at": utc(now)}
        if not conn.execute(sa.update(leases).where(leases.c.name == name).values(stamp)).rowcount:
            conn.execute(
                sa.insert(leases).values(name=name, owner="", until=utc(now), acquired_at=utc(now))
                .values(stamp)
            )


def done_at(conn: Connection, name: str) -> datetime | None:
    """``last_done`` on an open connection."""
    found = conn.execute(sa.select(leases.c.done_at).where(leases.c.name == name)).scalar()
    return utc(found) if found is not None else None
