"""``newsletter send [--dry-run]`` sends what is due; ``newsletter status`` shows the outbox.

``status`` also says, for each subscriber, what happened to today's issue or why there is
none (nothing matched, unsubscribed, bounced, paused, not due).
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime

import click
from rich.table import Table

from newsletter.app.arxiv_lookup import categories_line
from newsletter.app.channels import send_test
from newsletter.app.mailers import local_trial, require_secret
from newsletter.app.model_status import model_lines
from newsletter.app.sending import SendReport, due_rows, send_now
from newsletter.app.status import COLUMNS, Waiting, matcher_line, outbox_status, relay_line
from newsletter.cli.common import App, pass_app, sending_mailer

TEMPFAIL = 75  # sysexits.h EX_TEMPFAIL: try again later (the relay failed, nothing was lost)


@click.command()
@click.option("--dry-run", is_flag=True, help="List what is due; send and change nothing.")
@click.option("--mailer", "mailer_name", metavar="NAME", help="Use [mailers.NAME] instead.")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many messages.")
@click.option("--test", "test_channel", metavar="CHANNEL",
              help="Post a test message to [channels.CHANNEL] now; send nothing else.")
@pass_app
def send(app: App, dry_run: bool, mailer_name: str | None, limit: int | None,
         test_channel: str | None) -> int:
    """Send the queued messages that are due; exit 1 when some failed for good."""
    if test_channel is not None:
        tested = send_test(app.config, test_channel, app.engine)
        (app.console if tested.ok else app.err).print(tested.line, markup=False)
        return 0 if tested.ok else 1
    mailer = sending_mailer(app.config, mailer_name)  # validates the config either way
    if dry_run:
        _show_due(app, limit or 1000)
        return 0
    require_secret(app.config)
    if trial := local_trial(app.config, mailer):
        app.err.print(trial, markup=False)
    # On a terminal a live line shows the running totals; elsewhere only the summary is said.
    with app.console.status("sending ...") if app.console.is_terminal else nullcontext() as shown:
        def progress(r: SendReport) -> None:
            if shown is not None:
                shown.update(f"sending ... {r.describe()}")

        report = send_now(app.config, app.engine, mailer, limit, progress)
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
    rows = due_rows(app.engine, limit)
    for row in rows:
        note = f"  (suppressed: {row.suppressed})" if row.suppressed else ""
        app.console.print(f"{row.issue_id}  {row.recipient}  attempt {row.attempt}"
                          f"  {row.subject or '(an issue, rendered when sent)'}{note}",
                          markup=False)
    app.console.print(f"{len(rows)} message(s) due; dry run: nothing sent", markup=False)


@click.command()
@click.option("--issues", default=14, show_default=True, help="How many recent issues to show.")
@pass_app
def status(app: App, issues: int) -> None:
    """Per-issue outbox counts, and what each subscriber gets today (or why not)."""
    found = outbox_status(app.engine, datetime.now(UTC))
    counts, today, confirmations = found.issues, found.today, found.confirmations
    table = Table("issue", *COLUMNS, title="Outbox")
    for issue_id in sorted(counts)[-issues:]:
        table.add_row(issue_id, *(str(counts[issue_id][c]) for c in COLUMNS))
    if any(confirmations.values()):
        table.add_row("confirmations", *(str(confirmations[c]) for c in COLUMNS))
    app.console.print(table if table.row_count else "Outbox: empty")
    if found.relay is not None:
        app.console.print(relay_line(found.relay), markup=False, style="bold red")
    if found.waiting:
        _show_waiting(app, found.waiting, found.waiting_total)
    people = Table("subscriber", "issue", "today", title="Today")
    for email, issue_id, state in today:
        people.add_row(email, issue_id, state)
    app.console.print(people if today else "No subscribers yet (`newsletter subscribers sync`).")
    app.console.print(matcher_line(app.config), markup=False)
    app.console.print(categories_line(app.config, app.engine, datetime.now(UTC)), markup=False)
    for line in model_lines(app.config, app.engine, datetime.now(UTC)):
        app.console.print(line, markup=False)


def _show_waiting(app: App, rows: list[Waiting], total: int) -> None:
    """One line a row (a table would fold the errors): who, which issue, where it stands."""
    shown = f"{len(rows)} of {total}" if total > len(rows) else str(total)
    app.console.print(f"Waiting after a failed try ({shown}, soonest first):", markup=False)
    for row in rows:
        app.console.print(
            f"  {row.recipient}  {row.issue_id}  {row.status}, {row.attempts} attempt(s) used, "
            f"next {row.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC: {row.last_error}", markup=False)


commands = [send, status]
