"""Pending double opt-in sign-ups: a profile waits here until its confirmation link is used.

Each sign-up has a random nonce that its signed link carries; confirming marks it used, so a
replayed link changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsletter import addresses
from newsletter.store.db import utc
from newsletter.store.tables import file_reader_signups, pending_signups


@dataclass(frozen=True)
class Signup:
    """A sign-up as stored: the submitted profile fields and whether it was confirmed."""

    nonce: str
    email: str
    profile: dict[str, Any]
    created_at: datetime
    confirmed_at: datetime | None


def add_signup(conn: Connection, email: str, profile: dict[str, Any], now: datetime) -> str:
    """Store a sign-up waiting for confirmation; returns the nonce its link must carry."""
    nonce = secrets.token_urlsafe(24)
    conn.execute(
        sa.insert(pending_signups).values(
            nonce=nonce, email=addresses.key(email), profile=profile, created_at=utc(now)
        )
    )
    return nonce


def get_signup(conn: Connection, nonce: str) -> Signup | None:
    row = conn.execute(sa.select(pending_signups).where(pending_signups.c.nonce == nonce))
    found = row.mappings().first()
    if found is None:
        return None
    confirmed = found["confirmed_at"]
    return Signup(
        found["nonce"],
        found["email"],
        dict(found["profile"]),
        utc(found["created_at"]),
        utc(confirmed) if confirmed else None,
    )


def mark_confirmed(conn: Connection, nonce: str, now: datetime) -> bool:
    """Use a sign-up up; False when it was already used (a replayed link)."""
    fresh = (pending_signups.c.nonce == nonce) & pending_signups.c.confirmed_at.is_(None)
    done = conn.execute(sa.update(pending_signups).where(fresh).values(confirmed_at=utc(now)))
    return bool(done.rowcount)


def forget_before(conn: Connection, cutoff: datetime) -> int:
    """Delete sign-ups older than ``cutoff`` (their links have expired anyway)."""
    old = pending_signups.c.created_at < utc(cutoff)
    return int(conn.execute(sa.delete(pending_signups).where(old)).rowcount)


def note_file_reader(conn: Connection, email: str, profile: dict[str, Any], now: datetime) -> None:
    """Keep what a reader whose profile a subscriber file keeps asked for on the web (the
    latest sign-up wins), for the operator to be told at the next sync."""
    key = addresses.key(email)
    conn.execute(sa.delete(file_reader_signups).where(file_reader_signups.c.email == key))
    conn.execute(sa.insert(file_reader_signups).values(email=key, profile=profile, at=utc(now)))


def take_file_readers(conn: Connection) -> list[tuple[str, dict[str, Any], datetime]]:
    """Every such sign-up not told yet (address, profile asked for, when), forgotten as it is
    taken: the operator is told once."""
    rows = conn.execute(sa.select(file_reader_signups).order_by(file_reader_signups.c.at))
    found = [(r["email"], dict(r["profile"]), utc(r["at"])) for r in rows.mappings()]
    conn.execute(sa.delete(file_reader_signups))
    return found

