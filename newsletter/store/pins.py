"""Template versions: the templates and render settings an enqueued issue is pinned to.

Enqueue saves the version it rendered with (once, by content hash); the worker loads it back
to render each issue row exactly as it was when enqueued, whatever the templates are now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from newsletter.store.db import utc
from newsletter.store.tables import outbox, template_versions


@dataclass(frozen=True)
class Pin:
    """One template version: each template file's source and the render settings."""

    version: str
    files: dict[str, str]
    settings: dict[str, Any]


def save(conn: Connection, pin: Pin, *, now: datetime) -> None:
    """Store ``pin``, or mark the stored version as used ``now`` (safe in parallel): ``prune``
    only drops versions unused for a day, so never one an enqueue is pinning rows to."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(template_versions)
    stmt = stmt.on_conflict_do_update(index_elements=[template_versions.c.version],
                                      set_={"created_at": stmt.excluded.created_at})
    conn.execute(stmt, {"version": pin.version, "files": pin.files, "settings": pin.settings,
                        "created_at": utc(now)})


def load(conn: Connection, version: str) -> Pin | None:
    """The stored version, or None when it is gone."""
    row = conn.execute(
        sa.select(template_versions).where(template_versions.c.version == version)
    ).mappings().first()
    if row is None:
        return None
    return Pin(row["version"], dict(row["files"]), dict(row["settings"]))


def drop_unused(conn: Connection, before: datetime) -> int:
    """Delete the versions no outbox row refers to and none saved since ``before``; how many."""
    used = sa.select(outbox.c.template_version).where(outbox.c.template_version.is_not(None))
    stmt = sa.delete(template_versions).where(template_versions.c.version.not_in(used),
                                              template_versions.c.created_at < utc(before))
    return int(conn.execute(stmt).rowcount or 0)
