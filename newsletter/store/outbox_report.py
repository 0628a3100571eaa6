"""Read-only views of the outbox for ``status``: counts with every confirmation in one bucket,
the rows that wait with their last error and next attempt, and the relay that is failing.

A row the relay could not take is queued again with ``last_error`` starting ``RELAY_FAULT``
(``outbox.mark_deferred`` writes it), so ``relay_down`` can name the relay until a message
gets through again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsletter.store.db import utc
from newsletter.store.outbox import CONFIRMATIONS, RELAY_FAULT
from newsletter.store.tables import OUTBOX_STATUSES, outbox

WAITING = ("queued", "retrying")


@dataclass(frozen=True)
class Counts:
    """Rows per status: per issue id, and all confirmations together."""

    issues: dict[str, dict[str, int]]
    confirmations: dict[str, int]


@dataclass(frozen=True)
class Waiting:
    """A row not sent yet that was tried: why it failed last, and when it goes again."""

    recipient: str
    issue_id: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str


@dataclass(frozen=True)
class RelayDown:
    """The relay failed the last time it was tried, and nothing got through since."""

    error: str  # the last fault, without the RELAY_FAULT prefix
    at: datetime  # when it was seen
    waiting: int  # unsent rows
    next_attempt_at: datetime  # the soonest of them


def counts(conn: Connection) -> Counts:
    """Rows in each status per issue id, the confirmations (one issue id each) counted apart."""
    confirmation = outbox.c.issue_id.startswith(CONFIRMATIONS, autoescape=True)
    bucket = sa.case((confirmation, sa.literal(CONFIRMATIONS)), else_=outbox.c.issue_id)
    query = sa.select(bucket, outbox.c.status, sa.func.count()).group_by(bucket, outbox.c.status)
    issues: dict[str, dict[str, int]] = {}
    confirmations = dict.fromkeys(OUTBOX_STATUSES, 0)
    for issue_id, status, count in conn.execute(query):
        into = confirmations if issue_id == CONFIRMATIONS else issues.setdefault(
            issue_id, dict.fromkeys(OUTBOX_STATUSES, 0))
        into[status] = count
    return Counts(dict(sorted(issues.items())), confirmations)


def waiting(conn: Connection, *, limit: int) -> tuple[list[Waiting], int]:
    """Up to ``limit`` unsent rows that failed before, soonest next attempt first, and how
    many there are in all."""
    tried = outbox.c.status.in_(WAITING) & outbox.c.last_error.is_not(None)
    total = conn.execute(sa.select(sa.func.count()).where(tried)).scalar_one()
    cols = (outbox.c.recipient, outbox.c.issue_id, outbox.c.status, outbox.c.attempts,
            outbox.c.next_attempt_at, outbox.c.last_error)
    query = sa.select(*cols).where(tried).order_by(outbox.c.next_attempt_at, outbox.c.id)
    rows = [Waiting(r[0], r[1], r[2], r[3], utc(r[4]), r[5])
            for r in conn.execute(query.limit(limit))]
    return rows, int(total)


def relay_down(conn: Connection) -> RelayDown | None:
    """The relay's last fault when the newest try of any row was one (nothing sent since)."""
    faulted = outbox.c.status.in_(WAITING) & outbox.c.last_error.startswith(
        RELAY_FAULT, autoescape=True)
    last = conn.execute(
        sa.select(outbox.c.last_error, outbox.c.updated_at).where(faulted)
        .order_by(outbox.c.updated_at.desc(), outbox.c.id.desc()).limit(1)).first()
    if last is None:
        return None
    error, at = str(last[0]), utc(last[1])
    newest_sent = conn.execute(sa.select(sa.func.max(outbox.c.sent_at))).scalar_one()
    if newest_sent is not None and utc(newest_sent) > at:
        return None  # a message got through after it: the relay came back
    unsent = outbox.c.status.in_(WAITING)
    total, soonest = conn.execute(
        sa.select(sa.func.count(), sa.func.min(outbox.c.next_attempt_at)).where(unsent)).one()
    fault = error.removeprefix(RELAY_FAULT).replace("not tried: ", "", 1)  # what the relay did
    return RelayDown(fault, at, int(total), utc(soonest))
