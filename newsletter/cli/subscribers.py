"""``newsletter subscribers sync|list|add|remove|show|import|export``: profiles and the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from newsletter.app import bulk
from newsletter.app.liked import liked_papers
from newsletter.app.readers import (
    STATUSES,
    add_reader,
    file_of,
    list_readers,
    remove_reader,
    show_reader,
    stored_reader,
    sync_folder,
)
from newsletter.cli.common import App, pass_app, print_table
from newsletter.errors import SubscriberError
from newsletter.models import Subscriber
from newsletter.profile import FIELDS, WEEKDAYS, to_data
from newsletter.wording import count


def profile_options(command: Callable[..., None]) -> Callable[..., None]:
    """One click option per profile field that has a CLI flag, from ``newsletter.profile``."""
    blank = to_data(Subscriber(email="", topics=()))  # every default, as text
    for f in reversed(FIELDS):
        if not f.flag:
            continue
        kw: dict[str, Any] = {"help": f.help}
        if f.kind in ("phrases", "arxiv", "emails"):
            kw["multiple"] = True  # topics, papers or a library: the profile checks there is one
        elif f.kind == "library":
            kw |= {"type": click.Path(dir_okay=False), "help": "A Zotero export or a file of "
                   "arXiv ids (BibTeX, RIS, CSL-JSON, text), read once into the profile."}
        elif f.kind == "email":
            kw["required"] = True
        else:
            kw |= {"default": blank[f.name], "show_default": blank[f.name] != ""}
            kw["type"] = click.Choice(f.options) if f.options else int if f.kind == "int" else str
        command = click.option(f"--{f.flag}", f.name, **kw)(command)
    return command


@click.group()
def subscribers() -> None:
    """Manage subscriber profiles (one TOML file each in the subscribers folder)."""


def _folder(app: App) -> Path:
    return app.config.path(app.config.newsletter.subscribers_dir)


@subscribers.command()
@pass_app
def sync(app: App) -> None:
    """Load every file in the subscribers folder into the database (all must validate)."""
    folder = _folder(app)
    report = sync_folder(app.engine, folder, datetime.now(UTC))
    for label, emails in (
        ("added", report.added),
        ("updated", report.updated),
        ("removed", report.removed),
    ):
        for email in emails:
            app.console.print(f"{label}: {email}", markup=False)
    for line in report.told:
        app.console.print(f"told: {line}", markup=False)
    app.console.print(
        f"{folder}: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.removed)} removed",
        markup=False,
    )


@subscribers.command(name="list")
@click.option("--status", type=click.Choice(STATUSES), help="Only subscribers with this status.")
@pass_app
def list_(app: App, status: str | None) -> None:
    """List stored subscribers."""
    found = list_readers(app.engine, status)
    rows = [(s.subscriber.email, s.subscriber.name, s.status, _when(s.subscriber),
             "; ".join(s.subscriber.topics), _short(s.subscriber.origin)) for s in found]
    columns = ("email", "name", "status", "when", "topics", "origin")
    print_table(app.console, columns, rows, ("name", "when", "topics", "origin"))
    app.console.print(count(len(found), "subscriber"))


@subscribers.command()
@profile_options
@pass_app
def add(app: App, /, **fields: object) -> None:
    """Write a new subscriber file and store the profile."""
    target = add_reader(app.config, app.engine, fields, datetime.now(UTC))
    stored = stored_reader(app.engine, str(fields["email"]))
    liked = liked_papers(app.engine, stored.subscriber).sentence() if stored else ""
    app.console.print(f"added {fields['email']} ({target})" + (f"; {liked}" if liked else ""),
                      markup=False)


@subscribers.command()
@click.argument("email")
@click.option("--yes", is_flag=True, help="Remove without asking first.")
@pass_app
def remove(app: App, email: str, yes: bool) -> None:
    """Forget a subscriber: the stored profile, their queued issues and, for file-based ones,
    the file. Asks first, unless --yes."""
    stored = stored_reader(app.engine, email)
    if stored is None:
        raise SubscriberError(f"{email}: no such subscriber in the database")
    kept = f" and delete the file {file_of(stored)}" if file_of(stored) else ""
    if not yes and not _confirm(f"Remove {email}, drop their queued messages{kept}?"):
        app.err.print(f"{email}: nothing removed", markup=False)
        raise SystemExit(1)
    dropped = remove_reader(app.engine, email)
    queued = f" and {count(dropped, 'queued message')}" if dropped else ""
    app.console.print(f"removed {email}{queued}", markup=False)


@subscribers.command()
@click.argument("who")
@pass_app
def show(app: App, who: str) -> None:
    """Show one profile: a file (validated) or a stored subscriber by email."""
    sub, status = show_reader(app.engine, who)
    for label, value in _fields(sub, status):
        app.console.print(f"{label:>12}: {value}", markup=False)


@subscribers.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option(
    "--status",
    type=click.Choice(("active", "paused")),
    help="Status of rows that give none: new readers get it (default active), updated keep theirs.",
)
@click.option("--update", is_flag=True, help="Replace the profiles of addresses already stored.")
@click.option(
    "--topics", "topics", multiple=True, metavar="TOPICS",
    help='Topics for rows that give none, "; "-separated (an address-only list), e.g. '
    '--topics "robotics; machine learning".',
)
@pass_app
def import_(
    app: App, file: Path, dry_run: bool, status: str | None, update: bool,
    topics: tuple[str, ...],
) -> None:
    """Add subscribers from a CSV or JSON file (ours, or a Mailchimp, listmonk, Substack or
    Buttondown export); print each refused or skipped row and why (exit 1 if one was refused)."""
    rows = bulk.read_rows(file)  # a file that cannot be read at all stops here, before the database
    given = [t.strip() for value in topics for t in value.split(";") if t.strip()]
    report = bulk.import_rows(
        app.engine, rows.rows, str(file), status=status, update=update, dry_run=dry_run,
        topics=given, now=datetime.now(UTC),
    )
    for line in (*report.refused, *report.skipped):
        click.echo(line)
    if rows.source:
        click.echo(rows.describe(str(file)))
    click.echo(report.summary())
    if report.refused:
        raise SystemExit(1)


@subscribers.command()
@click.option(
    "--format", "fmt", type=click.Choice(bulk.FORMATS), help="Default: csv (json for --out *.json)."
)
@click.option("--status", type=click.Choice(STATUSES), help="Only subscribers with this status.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@pass_app
def export(app: App, fmt: str | None, status: str | None, out: Path | None) -> None:
    """Write the stored subscribers as CSV or JSON, in the form 'subscribers import' reads."""
    fmt = fmt or ("json" if out is not None and out.suffix.lower() == ".json" else "csv")
    records = bulk.export_records(app.engine, status)
    text = bulk.render(records, fmt)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise SubscriberError(f"{out}: cannot write: {exc.strerror}") from None
    click.echo(f"{len(records)} subscribers written to {out}")


WHEN = ("timezone", "send_at", "frequency", "weekday", "active")  # shown as one "when" line


def _fields(sub: Subscriber, status: str) -> list[tuple[str, str]]:
    shown = [(k, v) for k, v in to_data(sub).items() if k not in WHEN]
    rows = [(k, ", ".join(v) if k == "papers" else "; ".join(v) if isinstance(v, list) else str(v))
            for k, v in shown]
    return [*rows[:2], ("status", status), *rows[2:], ("when", _when(sub)), ("origin", sub.origin)]




def _confirm(question: str) -> bool:
    """The operator's yes; no answer (no terminal, end of input) is a no."""
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:
        return False


def _when(sub: Subscriber) -> str:
    day = "daily" if sub.frequency == "daily" else f"weekly on {WEEKDAYS[sub.weekday]}"
    return f"{day} at {sub.send_at:%H:%M} {sub.timezone}"


def _short(origin: str) -> str:
    return Path(origin).name if origin not in ("", "web") else origin


commands = [subscribers]
