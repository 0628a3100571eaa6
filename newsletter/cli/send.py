"""``newsletter send [--dry-run]`` sends what is due; ``newsletter status`` shows the outbox.

``status`` also says, for each subscriber, what happened to today's issue or why there is
none (nothing matched, unsubscribed, bounced, paused, not due).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click
from rich.table import Table
from sqlalchemy.engine import Connection

from newsletter import addresses
from newsletter.app.queued_issue import Builder
from newsletter.app.run import ENQUEUED
from newsletter.cli.common import App, pass_app, sending_mailer
from newsletter.delivery.compose import composer_from_config
from newsletter.delivery.outbox import SendReport, send_due
from newsletter.schedule import due_date, local_now, why_not_due
from newsletter.store import locks
from newsletter.store import outbox as store
from newsletter.store.db import utc
from newsletter.store.profiles import StoredSubscriber, list_subscribers

TEMPFAIL = 75  # sysexits.h EX_TEMPFAIL: try again later (the relay failed, nothing was lost)
COLUMNS = ("queued", "sending", "sent", "retrying", "failed", "suppressed")


@click.command()
@click.option("--dry-run", is_flag=True, help="List what is due; send and change nothing.")
@click.option("--mailer", "mailer_name", metavar="NAME", help="Use [mailers.NAME] instead.")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many messages.")
@pass_app
def send(app: App, dry_run: bool, mailer_name: str | None, limit: int | None) -> int:
    """Send the queued messages that are due; exit 1 when some failed for good."""
    mailer = sending_mailer(app.config, mailer_name)  # validates the config either way
    if dry_run:
        _show_due(app, limit or 1000)
        return 0
    # On a terminal a live line shows the running totals; elsewhere only the summary is said.
    with app.console.status("sending ...") if app.console.is_terminal else nullcontext() as shown:
        def progress(r: SendReport) -> None:
            if shown is not None:
                shown.update(f"sending ... {r.describe()}")

        build = Builder(app.engine, composer_from_config(app.config))
        report = send_due(app.engine, mailer, app.config.delivery, limit=limit,
                          on_batch=progress, build=build)
    app.console.print(report.describe(), markup=False)
    for error in report.errors[:20]:
        app.err.print(f"failed: {error}", markup=False)
    return exit_status(report)


def exit_status(report: SendReport) -> int:
    """1 when messages failed for good; EX_TEMPFAIL (75) when the relay failed and messages
    wait for the next round; else 0."""
    if report.failed:
        return 1
    return TEMPFAIL if report.deferred else 0



def _show_due(app: App, limit: int) -> None:
    with app.engine.connect() as conn:
        rows = store.list_due(conn, now=datetime.now(UTC), limit=limit)
        blocked = store.suppressed(conn, [r["recipient"] for r in rows])
    for row in rows:
        note = f"  (suppressed: {blocked[row['recipient']]})" if row["recipient"] in blocked else ""
        app.console.print(f"{row['issue_id']}  {row['recipient']}  attempt {row['attempts'] + 1}"
                          f"  {row['subject'] or '(an issue, rendered when sent)'}{note}",
                          markup=False)
    app.console.print(f"{len(rows)} message(s) due; dry run: nothing sent", markup=False)


@click.command()
@click.option("--issues", default=14, show_default=True, help="How many recent issues to show.")
@pass_app
def status(app: App, issues: int) -> None:
    """Per-issue outbox counts, and what each subscriber gets today (or why not)."""
    now = datetime.now(UTC)
    with app.engine.connect() as conn:
        counts = store.status_counts(conn)
        today = explain_today(conn, list_subscribers(conn), now)
    table = Table("issue", *COLUMNS, title="Outbox")
    for issue_id in sorted(counts)[-issues:]:
        table.add_row(issue_id, *(str(counts[issue_id][c]) for c in COLUMNS))
    app.console.print(table if counts else "Outbox: empty")
    people = Table("subscriber", "issue", "today", title="Today")
    for email, issue_id, state in today:
        people.add_row(email, issue_id, state)
    app.console.print(people if today else "No subscribers yet (`newsletter subscribers sync`).")


def explain_today(
    conn: Connection, stored: Sequence[StoredSubscriber], now: datetime
) -> list[tuple[str, str, str]]:
    """(email, issue date, what happened or why nothing did) for each subscriber."""
    emails = [s.subscriber.email for s in stored]
    blocked = store.suppressed(conn, emails)
    last_pass = locks.done_at(conn, ENQUEUED)
    out = []
    for entry in stored:
        sub = entry.subscriber
        day = due_date(sub, now) or local_now(sub, now).date()
        row = store.rows_for(conn, [sub.email], day.isoformat()).get(addresses.key(sub.email))
        out.append((sub.email, day.isoformat(), _reason(entry, row, blocked, now, last_pass)))
    return out


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


commands = [send, status]
