"""Per-source conditional-GET validators and the outcome of the last check."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsletter.models import Validators
from newsletter.store.papers import column_length
from newsletter.store.tables import fetch_state

SOURCE_CHARS = column_length(fetch_state.c.source)  # the most characters of a source's name


def load_validators(conn: Connection, source: str) -> Validators | None:
    row = conn.execute(
        sa.select(fetch_state.c.etag, fetch_state.c.last_modified).where(
            fetch_state.c.source == source
        )
    ).first()
    return Validators(row.etag, row.last_modified) if row else None


def save_state(
    conn: Connection,
    source: str,
    now: datetime,
    status: str,
    validators: Validators | None = None,
    error: str = "",
) -> None:
    """Record a check; validators are only replaced when a new response brought them."""
    values: dict[str, object] = {"checked_at": now, "status": status, "error": error or None}
    if validators is not None:
        values |= {"etag": validators.etag, "last_modified": validators.last_modified}
    updated = conn.execute(
        sa.update(fetch_state).where(fetch_state.c.source == source).values(values)
    )
    if updated.rowcount == 0:
        conn.execute(sa.insert(fetch_state).values(source=source, **values))
