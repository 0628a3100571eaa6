"""Active subscribers read a page at a time (keyset on the email), so no caller holds them all."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsletter.models import Subscriber
from newsletter.store.profile_tables import subscribers
from newsletter.store.profiles import _from_row


def active_page(conn: Connection, after: str, limit: int) -> list[Subscriber]:
    """Up to ``limit`` active subscribers whose stored email sorts after ``after``."""
    query = (
        sa.select(subscribers)
        .where(subscribers.c.status == "active", subscribers.c.email > after)
        .order_by(subscribers.c.email)
        .limit(limit)
    )
    return [_from_row(row).subscriber for row in conn.execute(query).mappings()]


def iter_active(engine: Engine, page: int = 500) -> Iterator[Subscriber]:
    """Every active subscriber, each page read in its own short transaction."""
    after = ""
    while True:
        with engine.connect() as conn:
            found = active_page(conn, after, page)
        yield from found
        if len(found) < page:
            return
        after = found[-1].email
