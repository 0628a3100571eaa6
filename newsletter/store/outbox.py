"""The outbox and suppression tables: enqueue once, claim with a lease, record each outcome.

An issue row is pinned to a template version and has a snapshot of what the reader gets
beside it (``outbox_issues``: their name and topics, the picked paper keys in order with
scores and reasons); the worker renders it when it sends it. Other rows (confirmations, rows
queued before version 8) hold their whole message. Once sent, a row keeps no message body
(unless asked to, for audit).

Every write that follows a send is its own small transaction guarded by the lease owner, so a
worker whose lease was taken over can never overwrite the newer worker's result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from newsletter import addresses
from newsletter.models import OutgoingEmail
from newsletter.store.db import utc
from newsletter.store.tables import (
    OUTBOX_STATUSES,
    SUPPRESSION_REASONS,
    outbox,
    outbox_issues,
    subscribers,
    suppressions,
)

CONFIRMATIONS = "confirm-"  # the issue id prefix of double opt-in confirmation messages
RELAY_FAULT = "relay fault: "  # how the last error of a row the relay failed begins
STATUSES = OUTBOX_STATUSES
REASONS = SUPPRESSION_REASONS
UNSENT = ("queued", "sending", "retrying")


@dataclass(frozen=True)
class OutboxRow:
    """A claimed outbox row: its identity, how often it was tried, and its message.

    For an issue row ``email`` is the envelope only (no subject or bodies) until it is
    rendered from ``issue`` with the templates of ``template_version``.
    """

    id: int
    recipient: str
    issue_id: str
    attempts: int
    email: OutgoingEmail
    issue: dict[str, Any] | None = None
    template_version: str | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    provider_id: str | None = None  # unsent: what an earlier attempt got through, if kept


@dataclass(frozen=True)
class QueuedIssue:
    """What enqueue stores for one reader's issue: the envelope and what they get."""

    issue_id: str
    message_id: str
    sender: str
    to: str
    issue: dict[str, Any]
    template_version: str


def enqueue(
    conn: Connection, email: OutgoingEmail, *, issue_id: str, now: datetime,
    suppressed_for: str = "",
) -> bool:
    """Add one message for (recipient, issue) unless it is already there; True when added.

    ``suppressed_for`` (a suppression reason) records the message as suppressed instead of
    queued, in the same statement: a refused sign-up does the work an accepted one does."""
    return bool(enqueue_many(conn, [(email, issue_id)], now=now, suppressed_for=suppressed_for))


def enqueue_many(
    conn: Connection, items: Sequence[tuple[OutgoingEmail, str]], *, now: datetime,
    suppressed_for: str = "",
) -> set[tuple[str, str]]:
    """Add (message, issue id) pairs in one statement, skipping any (recipient, issue) already
    there; returns the (recipient key, issue id) pairs actually added."""
    if not items:
        return set()
    now = utc(now)
    status = "suppressed" if suppressed_for else "queued"
    error = f"suppressed: {suppressed_for}" if suppressed_for else None
    rows = [
        {
            "recipient": addresses.key(email.to), "issue_id": issue_id, "status": status,
            "last_error": error,
            "attempts": 0, "next_attempt_at": now, "message_id": email.message_id,
            "sender": email.sender, "to_header": email.to, "subject": email.subject,
            "text_body": email.text, "html_body": email.html,
            "headers": [list(h) for h in email.headers], "raw": email.raw,
            "created_at": now, "updated_at": now,
        }
        for email, issue_id in items
    ]
    return set(_insert_new(conn, rows))


def enqueue_issues(
    conn: Connection, items: Sequence[QueuedIssue], *, now: datetime
) -> set[tuple[str, str]]:
    """Add issue rows in one statement, skipping any (recipient, issue) already there;
    returns the (recipient key, issue id) pairs actually added."""
    if not items:
        return set()
    now = utc(now)
    rows: list[dict[str, Any]] = [
        {
            "recipient": addresses.key(item.to), "issue_id": item.issue_id, "status": "queued",
            "attempts": 0, "next_attempt_at": now, "message_id": item.message_id,
            "sender": item.sender, "to_header": item.to, "subject": "", "text_body": "",
            "html_body": "", "headers": [], "raw": None,
            "template_version": item.template_version, "created_at": now, "updated_at": now,
        }
        for item in items
    ]
    added = _insert_new(conn, rows)
    if added:  # none when every reader's issue was queued meanwhile (another run)
        snapshots = {(addresses.key(item.to), item.issue_id): item.issue for item in items}
        conn.execute(sa.insert(outbox_issues), [{"row_id": row_id, "issue": snapshots[pair]}
                                                for pair, row_id in added.items()])
    return set(added)


def _insert_new(conn: Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Insert the rows not there yet; the (recipient key, issue id) of each added, to its id."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(conn.dialect.name)
    if dialect is None:
        raise NotImplementedError(f"outbox does not support {conn.dialect.name}")
    stmt = dialect.insert(outbox).on_conflict_do_nothing()
    # RETURNING, not rowcount: psycopg reports -1 for a skipped ON CONFLICT insert.
    added = conn.execute(stmt.returning(outbox.c.recipient, outbox.c.issue_id, outbox.c.id), rows)
    return {(recipient, issue_id): row_id for recipient, issue_id, row_id in added}


# Outbox rows with their issue snapshot (None for rows that hold their whole message).
WITH_ISSUE = sa.select(outbox, outbox_issues.c.issue).select_from(
    outbox.outerjoin(outbox_issues, outbox_issues.c.row_id == outbox.c.id))


def _due(now: datetime) -> sa.ColumnElement[bool]:
    """New rows, retries whose time has come, and rows whose worker's lease ran out."""
    return sa.or_(
        sa.and_(outbox.c.status.in_(("queued", "retrying")), outbox.c.next_attempt_at <= now),
        sa.and_(outbox.c.status == "sending", outbox.c.lease_until < now),
    )


def next_due(conn: Connection, *, issues: bool = True) -> datetime | None:
    """When the soonest row falls due: a waiting row's next attempt or a claimed row's lease end
    (None: no row waits); with ``issues`` False, only rows that hold their whole message."""
    whole = outbox.c.template_version.is_(None) if not issues else sa.true()
    waiting = sa.select(sa.func.min(outbox.c.next_attempt_at)).where(
        outbox.c.status.in_(("queued", "retrying")), whole)
    claimed = sa.select(sa.func.min(outbox.c.lease_until)).where(
        outbox.c.status == "sending", whole)
    found = [utc(t) for t in (conn.execute(waiting).scalar(), conn.execute(claimed).scalar())
             if t is not None]
    return min(found, default=None)


def claim_due(
    conn: Connection, *, owner: str, now: datetime, lease: timedelta, limit: int,
    issues: bool = True,
) -> list[OutboxRow]:
    """Lease up to ``limit`` due rows (new, retry due, or abandoned by a dead worker);
    with ``issues`` False, only rows that hold their whole message (confirmations)."""
    now = utc(now)
    due = _due(now) if issues else _due(now) & outbox.c.template_version.is_(None)
    pick = sa.select(outbox.c.id).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id)
    ids = list(conn.execute(pick.limit(limit).with_for_update(skip_locked=True)).scalars())
    if not ids:
        return []
    conn.execute(
        sa.update(outbox).where(outbox.c.id.in_(ids)).values(
            status="sending", lease_owner=owner, lease_until=now + lease,
            attempts=outbox.c.attempts + 1, updated_at=now,
        )
    )
    rows = conn.execute(WITH_ISSUE.where(outbox.c.id.in_(ids)).order_by(outbox.c.id))
    return [_claimed(row) for row in rows.mappings()]


def issue_row(conn: Connection, email: str, issue_id: str) -> OutboxRow | None:
    """The outbox row of ``email``'s issue ``issue_id`` when it is an issue row (read-only)."""
    return _one_issue(conn, outbox.c.recipient == addresses.key(email),
                      outbox.c.issue_id == issue_id)


def sent_issues(conn: Connection, email: str, *, limit: int) -> list[OutboxRow]:
    """``email``'s sent issue rows, newest issue first, at most ``limit`` (read-only: the
    reader's archive and feed)."""
    query = WITH_ISSUE.where(outbox.c.recipient == addresses.key(email),
                             outbox.c.status == "sent", outbox_issues.c.issue.is_not(None))
    query = query.order_by(outbox.c.issue_id.desc(), outbox.c.id.desc()).limit(limit)
    return [_claimed(row) for row in conn.execute(query).mappings()]


def issue_row_by_id(conn: Connection, row_id: int) -> OutboxRow | None:
    """The issue row ``row_id`` (read-only), or None when there is none."""
    return _one_issue(conn, outbox.c.id == row_id)


def _one_issue(conn: Connection, *where: sa.ColumnElement[bool]) -> OutboxRow | None:
    query = WITH_ISSUE.where(*where, outbox_issues.c.issue.is_not(None))
    row = conn.execute(query).mappings().first()
    return None if row is None else _claimed(row)


def _claimed(row: Any) -> OutboxRow:
    email = OutgoingEmail(
        message_id=row["message_id"], sender=row["sender"], to=row["to_header"],
        subject=row["subject"], text=row["text_body"], html=row["html_body"],
        headers=tuple((str(k), str(v)) for k, v in row["headers"]), raw=row["raw"],
    )
    return OutboxRow(row["id"], row["recipient"], row["issue_id"], row["attempts"], email,
                     row["issue"], row["template_version"], utc(row["created_at"]), row["sent_at"],
                     row["provider_id"])


def _settle(conn: Connection, row_id: int, owner: str, **values: Any) -> bool:
    mine = (outbox.c.id == row_id) & (outbox.c.lease_owner == owner)
    stmt = sa.update(outbox).where(mine & (outbox.c.status == "sending"))
    return bool(conn.execute(stmt.values(lease_owner=None, lease_until=None, **values)).rowcount)


def mark_sent(
    conn: Connection, row_id: int, owner: str, *, provider_id: str | None, now: datetime,
    subject: str = "", keep: OutgoingEmail | None = None,
) -> bool:
    """Sent: the row keeps its picks and delivery facts; its message only when ``keep``."""
    now = utc(now)
    body = (
        {"text_body": keep.text, "html_body": keep.html, "raw": keep.raw}
        if keep is not None else {"text_body": "", "html_body": "", "raw": None}
    )
    return _settle(conn, row_id, owner, status="sent", provider_id=provider_id,
                   sent_at=now, updated_at=now, last_error=None, **body,
                   **({"subject": subject} if subject else {}))


def mark_retry(
    conn: Connection, row_id: int, owner: str, *, error: str, at: datetime, now: datetime,
    provider_id: str | None = None,
) -> bool:
    """Try again at ``at``; ``provider_id``, when given, keeps what this attempt got through
    (the parts of a team channel's issue already posted)."""
    kept = {} if provider_id is None else {"provider_id": provider_id}
    return _settle(conn, row_id, owner, status="retrying", last_error=error,
                   next_attempt_at=utc(at), updated_at=utc(now), **kept)


def mark_deferred(
    conn: Connection, row_id: int, owner: str, *, error: str, at: datetime, now: datetime
) -> bool:
    """Back in the queue for ``at`` without using an attempt: the relay failed, not the row
    (its last error says so: ``RELAY_FAULT`` and ``error``)."""
    return _settle(conn, row_id, owner, status=sa.case((outbox.c.attempts <= 1, "queued"),
                                                        else_="retrying"),
                   attempts=outbox.c.attempts - 1, last_error=RELAY_FAULT + error,
                   next_attempt_at=utc(at),
                   updated_at=utc(now))


def mark_failed(conn: Connection, row_id: int, owner: str, *, error: str, now: datetime) -> bool:
    return _settle(conn, row_id, owner, status="failed", last_error=error, updated_at=utc(now))


def mark_suppressed(
    conn: Connection, row_id: int, owner: str, *, reason: str, now: datetime
) -> bool:
    return _settle(conn, row_id, owner, status="suppressed", last_error=f"suppressed: {reason}",
                   updated_at=utc(now))


def suppress(conn: Connection, email: str, reason: str, *, now: datetime, detail: str = "") -> None:
    """Stop all mail to ``email`` (bounced, unsubscribed or complained); checked at send time.

    The inbox behind it (``addresses.mailbox_key``) is suppressed too when it is spelled
    otherwise, so ``j.doe@gmail.com`` complaining also stops ``jdoe@googlemail.com``."""
    if reason not in REASONS:
        raise ValueError(f"suppression reason must be one of {REASONS}, not {reason!r}")
    keys = _suppression_keys(email)
    conn.execute(sa.delete(suppressions).where(suppressions.c.email.in_(keys)))
    conn.execute(sa.insert(suppressions), [
        {"email": key, "reason": reason, "detail": detail, "at": utc(now)} for key in keys])


def _suppression_keys(email: str) -> list[str]:
    key, inbox = addresses.key(email), addresses.mailbox_key(email)
    return [key] if inbox == key else [key, inbox]


def unsuppress(conn: Connection, email: str) -> bool:
    """Allow mail to ``email`` (and its inbox) again, for example after a new, confirmed
    subscription."""
    stmt = sa.delete(suppressions).where(suppressions.c.email.in_(_suppression_keys(email)))
    return bool(conn.execute(stmt).rowcount)


def suppressed(conn: Connection, emails: Iterable[str]) -> dict[str, str]:
    """Which of ``emails`` must get no mail now, mapped (by address key) to the reason: the
    suppression list (by address or by the inbox behind it), and subscribers whose profile
    is unsubscribed or paused."""
    keys = sorted({addresses.key(e) for e in emails})
    inboxes: dict[str, list[str]] = {}  # inbox key -> the address keys spelled otherwise
    for key in keys:
        inbox = addresses.mailbox_key(key)
        if inbox != key:
            inboxes.setdefault(inbox, []).append(key)
    found: dict[str, str] = {}
    people = subscribers.c
    query = sa.select(suppressions.c.email, suppressions.c.reason)
    folded = sorted(inboxes)
    for start in range(0, len(folded), 500):
        chunk = folded[start : start + 500]
        for inbox, reason in conn.execute(query.where(suppressions.c.email.in_(chunk))):
            found.update(dict.fromkeys(inboxes[inbox], reason))
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        held = sa.select(people.email, people.status).where(
            people.email.in_(chunk), people.status.in_(("unsubscribed", "paused")))
        found.update((e, r) for e, r in conn.execute(held))
        found.update((e, r) for e, r in conn.execute(query.where(suppressions.c.email.in_(chunk))))
    return found


def suppression_details(conn: Connection, emails: Iterable[str]) -> dict[str, str]:
    """The detail kept with each of ``emails``' suppressions (by address key), when any."""
    keys = sorted({addresses.key(e) for e in emails})
    query = sa.select(suppressions.c.email, suppressions.c.detail)
    return {e: d for e, d in conn.execute(query.where(suppressions.c.email.in_(keys)))}


def status_counts(conn: Connection) -> dict[str, dict[str, int]]:
    """Per issue id, how many rows are in each status."""
    query = sa.select(outbox.c.issue_id, outbox.c.status, sa.func.count()).group_by(
        outbox.c.issue_id, outbox.c.status
    )
    out: dict[str, dict[str, int]] = {}
    for issue_id, status, count in conn.execute(query.order_by(outbox.c.issue_id)):
        out.setdefault(issue_id, dict.fromkeys(STATUSES, 0))[status] = count
    return out


def rows_for(conn: Connection, recipients: Sequence[str], issue_id: str) -> dict[str, str]:
    """The outbox status of each recipient (by address key) for one issue."""
    keys = [addresses.key(r) for r in recipients]
    query = sa.select(outbox.c.recipient, outbox.c.status).where(
        outbox.c.issue_id == issue_id, outbox.c.recipient.in_(keys)
    )
    return {recipient: status for recipient, status in conn.execute(query)}


def release(conn: Connection, row_ids: Sequence[int], owner: str, *, now: datetime) -> int:
    """Give claimed rows back untried (the mailer failed before it reached them)."""
    mine = outbox.c.id.in_(list(row_ids)) & (outbox.c.lease_owner == owner)
    stmt = sa.update(outbox).where(mine & (outbox.c.status == "sending")).values(
        status=sa.case((outbox.c.attempts <= 1, "queued"), else_="retrying"),
        attempts=outbox.c.attempts - 1, lease_owner=None, lease_until=None, updated_at=utc(now),
    )
    return int(conn.execute(stmt).rowcount)


def extend_lease(conn: Connection, row_ids: Sequence[int], owner: str, until: datetime) -> None:
    """Keep rows still being worked on from looking abandoned."""
    mine = outbox.c.id.in_(list(row_ids)) & (outbox.c.lease_owner == owner)
    stmt = sa.update(outbox).where(mine & (outbox.c.status == "sending"))
    conn.execute(stmt.values(lease_until=utc(until)))


def issue_keys(issue: dict[str, Any]) -> list[str]:
    """The paper keys an issue row holds, in order."""
    return [str(p[0]) for p in issue.get("picks", [])]


def issue_date(issue: dict[str, Any]) -> date:
    return date.fromisoformat(str(issue["date"]))


def list_due(conn: Connection, *, now: datetime, limit: int) -> list[dict[str, Any]]:
    """What a send would pick up now, without claiming anything (for ``send --dry-run``)."""
    now = utc(now)
    due = _due(now)
    cols = (outbox.c.recipient, outbox.c.issue_id, outbox.c.status, outbox.c.attempts,
            outbox.c.subject)
    query = sa.select(*cols).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id)
    return [dict(row) for row in conn.execute(query.limit(limit)).mappings()]


def drop_unsent(conn: Connection, email: str) -> int:
    """Delete a reader's messages that have not gone out (queued or retrying); how many.

    A row being sent right now keeps its lease: its worker records the outcome as usual.
    """
    waiting = (outbox.c.recipient == addresses.key(email)) & outbox.c.status.in_(
        ("queued", "retrying")
    )
    return int(conn.execute(sa.delete(outbox).where(waiting)).rowcount or 0)
