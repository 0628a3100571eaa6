"""Active subscribers read a page at a time (keyset on the email), so no caller holds them all."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsletter.models import Subscriber
from newsletter.store.profile_tables import subscribers
from newsletter.store.profiles import from_row

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
