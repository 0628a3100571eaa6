"""``newsletter subscribers sync|list|add|remove|show``: profile files and the database."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from newsletter.cli.common import App, pass_app
from newsletter.errors import SubscriberError
from newsletter.models import Subscriber
from newsletter.store.profile_tables import STATUSES
from newsletter.store.profiles import (
    delete_subscriber,
    get_subscriber,
    list_subscribers,
    sync_dir,
    upsert_subscriber,
)
from newsletter.subscribers import WEEKDAYS, from_dict, load_file, to_toml


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
    with app.engine.begin() as conn:
        report = sync_dir(conn, folder, datetime.now(UTC))
    for label, emails in (
        ("added", report.added),
        ("updated", report.updated),
        ("removed", report.removed),
    ):
        for email in emails:
            app.console.print(f"{label}: {email}", markup=False)
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
    with app.engine.connect() as conn:
        found = list_subscribers(conn, status)
    table = Table(box=None)
    table.add_column("email", no_wrap=True)
    for column in ("name", "status", "when", "topics", "origin"):
        table.add_column(column, overflow="fold")
    for item in found:
        sub = item.subscriber
        table.add_row(
            sub.email, sub.name, item.status, _when(sub), "; ".join(sub.topics), _short(sub.origin)
        )
    app.console.print(table)
    app.console.print(f"{len(found)} subscribers")


@subscribers.command()
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--topic", "topics", multiple=True, required=True, help="An interest (repeatable).")
@click.option("--exclude", multiple=True, help="A phrase never to be sent (repeatable).")
@click.option("--author", "authors", multiple=True, help="An author to follow (repeatable).")
@click.option("--paper", "papers", multiple=True, help="An arXiv id liked (repeatable).")
@click.option("--max-papers", type=int, default=10, show_default=True)
@click.option("--timezone", default="UTC", show_default=True)
@click.option("--send-at", default="07:00", show_default=True)
@click.option("--frequency", type=click.Choice(["daily", "weekly"]), default="daily")
@click.option("--weekday", type=click.Choice(WEEKDAYS), default="monday")
@pass_app
def add(app: App, /, **fields: object) -> None:
    """Write a new subscriber file and store the profile."""
    folder = _folder(app)
    email = str(fields["email"])
    target = folder / f"{_slug(email)}.toml"
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
    sub = from_dict(data, str(target))  # validate before anything is written
    if target.exists():
        raise SubscriberError(f"{target}: file already exists; edit it and run 'subscribers sync'")
    with app.engine.begin() as conn:
        if get_subscriber(conn, email) is not None:
            raise SubscriberError(f"{email}: a subscriber with this email is already stored")
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, to_toml(sub))
        upsert_subscriber(conn, sub, datetime.now(UTC))
    app.console.print(f"added {email} ({target})", markup=False)


@subscribers.command()
@click.argument("email")
@pass_app
def remove(app: App, email: str) -> None:
    """Forget a subscriber: the stored profile and, for file-based ones, the file."""
    with app.engine.begin() as conn:
        stored = get_subscriber(conn, email)
        if stored is None:
            raise SubscriberError(f"{email}: no such subscriber in the database")
        delete_subscriber(conn, email)
        origin = Path(stored.subscriber.origin)
        if stored.subscriber.origin != "web" and origin.is_file():
            origin.unlink()
    app.console.print(f"removed {email}", markup=False)


@subscribers.command()
@click.argument("who")
@pass_app
def show(app: App, who: str) -> None:
    """Show one profile: a file (validated) or a stored subscriber by email."""
    status = "file"
    if who.endswith(".toml") or Path(who).is_file():
        sub = load_file(Path(who))
    else:
        with app.engine.connect() as conn:
            stored = get_subscriber(conn, who)
        if stored is None:
            raise SubscriberError(f"{who}: no such subscriber file or stored subscriber")
        sub, status = stored.subscriber, stored.status
    for label, value in _fields(sub, status):
        app.console.print(f"{label:>12}: {value}", markup=False)


def _fields(sub: Subscriber, status: str) -> list[tuple[str, str]]:
    return [
        ("email", sub.email),
        ("name", sub.name),
        ("status", status),
        ("topics", "; ".join(sub.topics)),
        ("exclude", "; ".join(sub.exclude)),
        ("authors", "; ".join(sub.authors)),
        ("papers", ", ".join(sub.papers)),
        ("max_papers", str(sub.max_papers)),
        ("min_upvotes", str(sub.min_upvotes)),
        ("when", _when(sub)),
        ("origin", sub.origin),
    ]


def _when(sub: Subscriber) -> str:
    day = "daily" if sub.frequency == "daily" else f"weekly on {WEEKDAYS[sub.weekday]}"
    return f"{day} at {sub.send_at:%H:%M} {sub.timezone}"


def _short(origin: str) -> str:
    return Path(origin).name if origin not in ("", "web") else origin


def _slug(email: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", email.lower()).strip("-")


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


commands = [subscribers]
