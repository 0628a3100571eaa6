"""Subscriber profiles in the database: synced from the TOML folder or created on the web.

A status (active, paused, unsubscribed) lives beside each profile; a sync never revives a
subscriber who unsubscribed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsletter.errors import SubscriberError
from newsletter.models import Subscriber
from newsletter.store.profile_tables import STATUSES, subscribers
from newsletter.subscribers import load_dir


@dataclass(frozen=True)
class StoredSubscriber:
    """A profile as stored: the subscriber (``active`` follows the status) and its status."""

    subscriber: Subscriber
    status: str
    updated_at: datetime | None = None


@dataclass(frozen=True)
class SyncReport:
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def address(email: str) -> str:
    """The form an address is stored and compared in."""
    return email.strip().lower()


def upsert_subscriber(
    conn: Connection, sub: Subscriber, now: datetime, status: str | None = None
) -> str:
    """Insert or update a profile; returns "added", "updated" or "unchanged".

    Without ``status`` the profile's ``active`` flag decides between active and paused, but an
    unsubscribed subscriber stays unsubscribed.
    """
    if status is not None and status not in STATUSES:
        raise SubscriberError(f"{sub.email}: unknown status {status!r}")
    old = _row(conn, sub.email)
    if status is None:
        status = "active" if sub.active else "paused"
        if old is not None and old["status"] == "unsubscribed":
            status = "unsubscribed"
    values = {"name": sub.name, "profile": _profile(sub), "status": status, "origin": sub.origin}
    if old is None:
        row = values | {"email": address(sub.email), "created_at": now, "updated_at": now}
        conn.execute(sa.insert(subscribers).values(row))
        return "added"
    if {k: old[k] for k in values} == values:
        return "unchanged"
    where = subscribers.c.email == address(sub.email)
    conn.execute(sa.update(subscribers).where(where).values(values | {"updated_at": now}))
    return "updated"


def get_subscriber(conn: Connection, email: str) -> StoredSubscriber | None:
    row = _row(conn, email)
    return from_row(row) if row else None


def _row(conn: Connection, email: str) -> Any:
    query = sa.select(subscribers).where(subscribers.c.email == address(email))
    return conn.execute(query).mappings().first()


def list_subscribers(conn: Connection, status: str | None = None) -> list[StoredSubscriber]:
    """Stored profiles by email, optionally only those with one status."""
    query = sa.select(subscribers).order_by(subscribers.c.email)
    if status is not None:
        query = query.where(subscribers.c.status == status)
    return [from_row(row) for row in conn.execute(query).mappings()]


def active_subscribers(conn: Connection) -> list[Subscriber]:
    return [s.subscriber for s in list_subscribers(conn, "active")]


def set_status(conn: Connection, email: str, status: str, now: datetime) -> bool:
    """Change a subscriber's status; False when there is no such subscriber."""
    if status not in STATUSES:
        raise SubscriberError(f"{email}: unknown status {status!r} (known: {', '.join(STATUSES)})")
    where = subscribers.c.email == address(email)
    done = conn.execute(sa.update(subscribers).where(where).values(status=status, updated_at=now))
    return bool(done.rowcount)


def delete_subscriber(conn: Connection, email: str) -> bool:
    done = conn.execute(sa.delete(subscribers).where(subscribers.c.email == address(email)))
    return bool(done.rowcount)


def sync_dir(conn: Connection, folder: Path, now: datetime) -> SyncReport:
    """Make the stored file-based profiles match ``folder`` (all files validate first)."""
    subs = load_dir(folder)
    outcome: dict[str, list[str]] = {"added": [], "updated": [], "unchanged": []}
    for sub in subs:
        outcome[upsert_subscriber(conn, sub, now)].append(sub.email)
    removed = _drop_missing(conn, folder, {address(s.email) for s in subs})
    return SyncReport(
        tuple(outcome["added"]),
        tuple(outcome["updated"]),
        tuple(outcome["unchanged"]),
        tuple(removed),
    )


def _drop_missing(conn: Connection, folder: Path, present: set[str]) -> list[str]:
    """Forget profiles synced from ``folder`` whose file is gone (web profiles stay)."""
    gone = []
    for stored in list_subscribers(conn):
        origin = stored.subscriber.origin
        email = stored.subscriber.email
        if origin != "web" and _inside(origin, folder) and address(email) not in present:
            delete_subscriber(conn, stored.subscriber.email)
            gone.append(stored.subscriber.email)
    return gone


def _inside(origin: str, folder: Path) -> bool:
    try:
        return Path(origin).resolve().parent == folder.resolve()
    except (OSError, ValueError):
        return False


def _profile(sub: Subscriber) -> dict[str, Any]:
    return {
        "topics": list(sub.topics),
        "exclude": list(sub.exclude),
        "authors": list(sub.authors),
        "papers": list(sub.papers),
        "max_papers": sub.max_papers,
        "min_upvotes": sub.min_upvotes,
        "timezone": sub.timezone,
        "send_at": sub.send_at.strftime("%H:%M"),
        "frequency": sub.frequency,
        "weekday": sub.weekday,
        "active": sub.active,
    }


def from_row(row: Any) -> StoredSubscriber:
    """A stored subscriber rebuilt from a ``subscribers`` row and its profile JSON."""
    p = row["profile"]
    hour, minute = (int(x) for x in p["send_at"].split(":"))
    sub = Subscriber(
        email=row["email"],
        name=row["name"],
        topics=tuple(p["topics"]),
        exclude=tuple(p["exclude"]),
        authors=tuple(p["authors"]),
        papers=tuple(p["papers"]),
        max_papers=p["max_papers"],
        min_upvotes=p["min_upvotes"],
        timezone=p["timezone"],
        send_at=time(hour, minute),
        frequency=p["frequency"],
        weekday=p["weekday"],
        active=row["status"] == "active",
        origin=row["origin"],
    )
    return StoredSubscriber(sub, row["status"], row["updated_at"])
