"""Feedback links opened, and the votes a feedback page's script recorded: kept an hour, so
that a burst of opens (a scanner opening every link of an issue) can be seen and the votes
recorded during it taken back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsletter import addresses
from newsletter.store.db import utc
from newsletter.store.tables import link_opens

KEEP = timedelta(hours=1)
OPEN, VOTE = "open", "vote"


@dataclass(frozen=True)
class Opened:
    """One row: a link opened, or a vote a script recorded (``before``: what it replaced)."""

    id: int
    paper_key: str
    judgment: int
    kind: str
    before: int | None
    at: datetime


def note(
    conn: Connection, email: str, key: str, judgment: int, now: datetime,
    kind: str = OPEN, before: int | None = None,
) -> None:
    """Keep one open (or script vote); rows older than ``KEEP`` go at the same time."""
    conn.execute(sa.delete(link_opens).where(link_opens.c.at < utc(now - KEEP)))
    conn.execute(sa.insert(link_opens).values(
        email=addresses.key(email), paper_key=key, judgment=judgment, kind=kind, before=before,
        at=utc(now),
    ))


def since(conn: Connection, email: str, start: datetime) -> list[Opened]:
    """The reader's rows from ``start`` on, newest first."""
    query = (
        sa.select(link_opens)
        .where(link_opens.c.email == addresses.key(email), link_opens.c.at >= utc(start))
        .order_by(link_opens.c.at.desc(), link_opens.c.id.desc())
    )
    return [
        Opened(r["id"], r["paper_key"], int(r["judgment"]), r["kind"],
               None if r["before"] is None else int(r["before"]), utc(r["at"]))
        for r in conn.execute(query).mappings()
    ]


def drop(conn: Connection, ids: list[int]) -> None:
    if ids:
        conn.execute(sa.delete(link_opens).where(link_opens.c.id.in_(ids)))
