"""Subscriber profiles in the database: synced from the TOML folder or created on the web.

A status (active, paused, unsubscribed) lives beside each profile; a sync never revives a
subscriber who unsubscribed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsletter import addresses, profile
from newsletter.errors import SubscriberError
from newsletter.models import Subscriber
from newsletter.store.tables import SUBSCRIBER_STATUSES as STATUSES
from newsletter.store.tables import subscribers


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
    told: tuple[str, ...] = ()  # lines for the operator (what file-kept readers asked on the web)


NOT_FILES = ("web", "import")  # origins of profiles that no file holds


def from_file(sub: Subscriber) -> bool:
    """Whether the profile came from a subscriber file (the operator's, not the reader's)."""
    return sub.origin not in NOT_FILES


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
        row = values | {"email": addresses.key(sub.email), "created_at": now, "updated_at": now}
        conn.execute(sa.insert(subscribers).values(row))
        return "added"
    if {k: old[k] for k in values} == values:
        return "unchanged"
    where = subscribers.c.email == addresses.key(sub.email)
    conn.execute(sa.update(subscribers).where(where).values(values | {"updated_at": now}))
    return "updated"


def get_subscriber(conn: Connection, email: str) -> StoredSubscriber | None:
    row = _row(conn, email)
    return from_row(row) if row else None


def same_inbox(conn: Connection, email: str) -> StoredSubscriber | None:
    """A subscriber stored under another spelling of ``email``'s inbox (``jdoe@gmail.com`` for
    ``J.Doe+x@googlemail.com``; see ``addresses.mailbox_key``), or None."""
    domains = addresses.inbox_domains(email)
    if not domains:
        return None
    inbox, key = addresses.mailbox_key(email), addresses.key(email)
    first = inbox[0] if inbox[0] not in "%_/" else "/" + inbox[0]  # folding keeps it first
    spelled = sa.or_(*(subscribers.c.email.like(f"{first}%@{d}", escape="/") for d in domains))
    query = sa.select(subscribers).where(spelled, subscribers.c.email != key)
    for row in conn.execute(query.order_by(subscribers.c.id)).mappings():
        if addresses.mailbox_key(row["email"]) == inbox:
            return from_row(row)
    return None


def _row(conn: Connection, email: str) -> Any:
    query = sa.select(subscribers).where(subscribers.c.email == addresses.key(email))
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
    where = subscribers.c.email == addresses.key(email)
    done = conn.execute(sa.update(subscribers).where(where).values(status=status, updated_at=now))
    return bool(done.rowcount)


def delete_subscriber(conn: Connection, email: str) -> bool:
    done = conn.execute(sa.delete(subscribers).where(subscribers.c.email == addresses.key(email)))
    return bool(done.rowcount)


def _profile(sub: Subscriber) -> dict[str, Any]:
    data = profile.to_data(sub)
    del data["email"], data["name"], data["active"]
    return data


def from_row(row: Any) -> StoredSubscriber:
    """A stored subscriber rebuilt from a ``subscribers`` row and its profile JSON."""
    data = {**row["profile"], "email": row["email"], "name": row["name"]}
    sub = profile.from_stored(data | {"active": row["status"] == "active"}, row["origin"])
    return StoredSubscriber(sub, row["status"], row["updated_at"])


def sync_profiles(
    conn: Connection,
    subs: Iterable[Subscriber],
    folder_of: str,
    now: datetime,
    keep: Collection[str] = (),
) -> SyncReport:
    """Make the stored profiles that came from folder ``folder_of`` match ``subs``; those
    from the files ``keep`` (that could not be read this time) stay as they are.

    Profiles from other folders and from the web are left alone.
    """
    outcome: dict[str, list[str]] = {"added": [], "updated": [], "unchanged": []}
    present: set[str] = set()
    for sub in subs:
        outcome[upsert_subscriber(conn, sub, now)].append(sub.email)
        present.add(addresses.key(sub.email))
    removed = _drop_missing(conn, folder_of, present, {_resolved(p) for p in keep})
    return SyncReport(
        tuple(outcome["added"]), tuple(outcome["updated"]), tuple(outcome["unchanged"]), removed
    )


def _drop_missing(
    conn: Connection, folder: str, present: set[str], kept: set[str]
) -> tuple[str, ...]:
    """Forget profiles synced from ``folder`` whose file is gone (web profiles stay, and
    those of the ``kept`` files)."""
    gone = []
    for stored in list_subscribers(conn):
        sub = stored.subscriber
        from_folder = from_file(sub) and _inside(sub.origin, folder)
        missing = from_folder and addresses.key(sub.email) not in present
        if missing and _resolved(sub.origin) not in kept:
            delete_subscriber(conn, sub.email)
            gone.append(sub.email)
    return tuple(gone)


def _resolved(path: str) -> str:
    try:
        return str(Path(path).resolve())
    except (OSError, ValueError):
        return path


def _inside(origin: str, folder: str) -> bool:
    try:
        return Path(origin).resolve().parent == Path(folder).resolve()
    except (OSError, ValueError):
        return False


Shard = tuple[int, int]  # (k, n): the subscribers whose id is k modulo n


def active_page(
    conn: Connection, after: str, limit: int, shard: Shard | None = None
) -> list[Subscriber]:
    """Up to ``limit`` active subscribers whose stored email sorts after ``after``."""
    query = (
        sa.select(subscribers)
        .where(subscribers.c.status == "active", subscribers.c.email > after)
        .order_by(subscribers.c.email)
        .limit(limit)
    )
    if shard is not None:
        query = query.where(subscribers.c.id % shard[1] == shard[0])
    return [from_row(row).subscriber for row in conn.execute(query).mappings()]


def iter_active(
    engine: Engine, page: int = 500, shard: Shard | None = None
) -> Iterator[Subscriber]:
    """Every active subscriber (of ``shard``), each page read in its own short transaction."""
    after = ""
    while True:
        with engine.connect() as conn:
            found = active_page(conn, after, page, shard)
        yield from found
        if len(found) < page:
            return
        after = found[-1].email
