"""What ``newsletter status`` tells an operator: the outbox per issue (confirmations counted
apart), the messages that wait with their last error and next attempt, the relay when it is
failing, and for each reader what happened to today's issue or why there is none (nothing
matched, unsubscribed, bounced, paused, not due, not yet enqueued)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Engine

from newsletter import addresses
from newsletter.app.run import ENQUEUED
from newsletter.app.sentence_model import configured_state
from newsletter.channel_names import channel_of
from newsletter.config import Config
from newsletter.delivery.channels.sender import GONE_NOTE
from newsletter.schedule import due_date, local_now, why_not_due
from newsletter.store import locks, outbox_report
from newsletter.store import outbox as store
from newsletter.store.db import utc
from newsletter.store.outbox_report import RelayDown, Waiting
from newsletter.store.profiles import StoredSubscriber, list_subscribers

__all__ = ["COLUMNS", "Status", "Waiting", "explain_today", "matcher_line", "outbox_status",
           "relay_line"]

COLUMNS = ("queued", "sending", "sent", "retrying", "failed", "suppressed")
WAITING_SHOWN = 20  # rows listed with their last error; the rest are counted


@dataclass(frozen=True)
class Status:
    """Per-issue outbox counts (issue id -> status -> rows), the confirmations' counts, the
    rows that wait after a failed try, the failing relay (if any) and each reader's today."""

    issues: dict[str, dict[str, int]]
    today: list[tuple[str, str, str]]  # (email, issue date, what happened or why not)
    confirmations: dict[str, int]
    waiting: list[Waiting]
    waiting_total: int
    relay: RelayDown | None


def outbox_status(engine: Engine, now: datetime) -> Status:
    with engine.connect() as conn:
        counts = outbox_report.counts(conn)
        waiting, total = outbox_report.waiting(conn, limit=WAITING_SHOWN)
        relay = outbox_report.relay_down(conn)
        today = explain_today(conn, list_subscribers(conn), now)
    return Status(counts.issues, today, counts.confirmations, waiting, total, relay)


def relay_line(relay: RelayDown) -> str:
    """One line naming the failing relay, what it did, and what waits for it."""
    return (f"Relay down: {relay.error} (last tried {relay.at:%Y-%m-%d %H:%M:%S} UTC; "
            f"{relay.waiting} message(s) wait, next try {relay.next_attempt_at:%H:%M:%S} UTC)")


def explain_today(
    conn: Connection, stored: Sequence[StoredSubscriber], now: datetime
) -> list[tuple[str, str, str]]:
    """(email, issue date, what happened or why nothing did) for each subscriber."""
    emails = [s.subscriber.email for s in stored]
    blocked = store.suppressed(conn, emails)
    gone = [e for e in emails if channel_of(e) and blocked.get(addresses.key(e)) == "bounced"]
    details = store.suppression_details(conn, gone) if gone else {}
    last_pass = locks.done_at(conn, ENQUEUED)
    out = []
    for entry in stored:
        sub = entry.subscriber
        day = due_date(sub, now) or local_now(sub, now).date()
        row = store.rows_for(conn, [sub.email], day.isoformat()).get(addresses.key(sub.email))
        reason = _reason(entry, row, blocked, now, last_pass)
        if addresses.key(sub.email) in details and row != "sent":
            reason = channel_gone(sub.email, details[addresses.key(sub.email)])
        out.append((sub.email, day.isoformat(), reason))
    return out


def channel_gone(email: str, detail: str) -> str:
    """One line for a team channel whose webhook or room is gone (404/410)."""
    name = channel_of(email)
    said = detail.removesuffix(GONE_NOTE) or "the platform answered 404 or 410"
    return (f"gone (suppressed): {said}; fix channels.{name}, then "
            f"`newsletter send --test {name}` resumes it")


def _reason(
    entry: StoredSubscriber,
    row: str | None,
    blocked: dict[str, str],
    now: datetime,
    last_pass: datetime | None,
) -> str:
    key = addresses.key(entry.subscriber.email)
    if row == "sent":
        return "sent"
    if key in blocked:
        reason = blocked[key]  # unsubscribed, paused, bounced or complained
        return f"{reason} (suppressed)" if reason in ("bounced", "complained") else reason
    if entry.status != "active":
        return entry.status
    if row is not None:
        return row
    sub = entry.subscriber
    day = due_date(sub, now)
    if day is None:
        return why_not_due(sub, now)
    due_since = datetime.combine(day, sub.send_at, ZoneInfo(sub.timezone))
    # A pass since the issue fell due, that saw this profile as it is now, queued nothing.
    changed = utc(entry.updated_at) if entry.updated_at else due_since
    if last_pass is not None and last_pass >= max(due_since, changed):
        return "nothing matched (no issue queued)"
    return f"due since {sub.send_at:%H:%M} {sub.timezone}, not yet enqueued (next pass)"


def matcher_line(config: Config) -> str:
    """Which matcher runs use now: words and meaning (which model), or words only and what to
    run for the better one."""
    return configured_state(config).line()
