"""What the outbox keeps over time: ``prune`` drops old delivery details, keeps the history.

Kept for ever (until the reader is removed): each sent issue row's picks and its delivery
facts (when, which message id), which the archive and the per-reader history need, and the
``sent_papers`` rows that matching reads. Dropped once older than the configured age: rows
that never went out (failed, suppressed) and confirmation messages; from sent issue rows,
the provider's id and the last error; message bodies kept for audit; template versions no
row refers to and no enqueue used since. Sent rows queued before version 8 (whole messages,
no picks) go too: what they sent stays in ``sent_papers``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsletter.store import pins
from newsletter.store.db import utc
from newsletter.store.tables import outbox


@dataclass
class PruneReport:
    """What one ``prune`` removed."""

    rows: int = 0  # failed, suppressed and confirmation rows deleted
    details: int = 0  # sent issue rows whose provider id and error were cleared
    bodies: int = 0  # sent messages whose kept copy was dropped
    versions: int = 0  # template versions no row refers to

    def describe(self) -> str:
        return (f"deleted {self.rows} unsent or confirmation rows, cleared the details of "
                f"{self.details} sent issues and {self.bodies} kept messages, dropped "
                f"{self.versions} unused template versions")


def prune(
    conn: Connection, *, details_before: datetime, messages_before: datetime
) -> PruneReport:
    """Drop what is older than the given moments (see the module's docstring)."""
    report = PruneReport()
    old = outbox.c.updated_at < utc(details_before)
    done = old & ~outbox.c.status.in_(("queued", "sending", "retrying"))
    unrendered = outbox.c.template_version.is_(None)  # confirmations, rows from before v0008
    gone = done & (unrendered | outbox.c.status.in_(("failed", "suppressed")))
    report.rows = int(conn.execute(sa.delete(outbox).where(gone)).rowcount or 0)
    detail = done & (outbox.c.status == "sent") & (
        outbox.c.provider_id.is_not(None) | outbox.c.last_error.is_not(None))
    stmt = sa.update(outbox).where(detail).values(provider_id=None, last_error=None)
    report.details = int(conn.execute(stmt).rowcount or 0)
    kept = (outbox.c.status == "sent") & (outbox.c.sent_at < utc(messages_before)) & (
        outbox.c.raw.is_not(None) | (outbox.c.text_body != ""))
    stmt = sa.update(outbox).where(kept).values(text_body="", html_body="", raw=None)
    report.bodies = int(conn.execute(stmt).rowcount or 0)
    report.versions = pins.drop_unused(conn, details_before)
    return report
