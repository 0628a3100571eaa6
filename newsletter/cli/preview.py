"""``newsletter preview``: write or serve exactly what a subscriber would get, sending nothing.

It composes the issue as a run would (matching, signed links), renders it, and writes
``<subscriber>-<date>.html``, ``.txt`` and ``.eml``; nothing is queued, sent or marked as sent.
An issue already in the outbox is rendered from its row, as the worker will send it.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click

from newsletter import signed_links
from newsletter.app import issue
from newsletter.app.queued_issue import enqueued_message
from newsletter.app.readers import find_subscriber
from newsletter.app.stages import Stages
from newsletter.cli.common import App, pass_app
from newsletter.cli.progress import show_embedding_progress
from newsletter.config import Config, Secrets
from newsletter.delivery.compose import composer_from_config
from newsletter.errors import NewsletterError, SubscriberError
from newsletter.models import Issue, IssueLinks
from newsletter.render import RenderedEmail, Renderer
from newsletter.store.profiles import active_subscribers
from newsletter.subscriber_files import load_dir
from newsletter.web.preview import IssueMaker, PreviewSite, make_server, server_url

MimeMaker = Callable[[Issue, RenderedEmail, IssueLinks], bytes]
SERVE_DAYS = 7  # the page offers the chosen date and the days before it


def file_stem(email: str, day: date) -> str:
    """``ada@example.org-2026-11-23``: the address kept readable, anything path-like replaced."""
    safe = re.sub(r"[^A-Za-z0-9@._+-]", "_", email).strip(".") or "subscriber"
    return f"{safe}-{day.isoformat()}"


def write_preview(
    renderer: Renderer, issue: Issue, links: IssueLinks, out_dir: Path, to_mime: MimeMaker
) -> list[Path]:
    """Write the HTML, text and full MIME message; [] on a quiet day set to skip."""
    rendered = renderer.render(issue, links)
    if rendered is None:
        return []
    contents = {
        ".html": rendered.html.encode("utf-8"),
        ".txt": rendered.text.encode("utf-8"),
        ".eml": to_mime(issue, rendered, links),
    }
    _make_dir(out_dir)
    stem = file_stem(issue.subscriber.email, issue.issue_date)
    return _write_all({out_dir / f"{stem}{suffix}": data for suffix, data in contents.items()})


def _write_all(files: dict[Path, bytes]) -> list[Path]:
    """All files or none: each is written to a temporary name first, then renamed."""
    temps: list[Path] = []
    try:
        for path, data in files.items():
            temp = path.with_name(f".{path.name}.tmp")
            temps.append(temp)
            temp.write_bytes(data)
    except OSError as exc:
        for temp in temps:
            temp.unlink(missing_ok=True)
        raise NewsletterError(f"{exc.filename}: cannot write ({exc.strerror})") from None
    for temp, path in zip(temps, files, strict=True):
        os.replace(temp, path)
    return list(files)


def mime_maker(config: Config, now: Callable[[], datetime]) -> MimeMaker:
    """Build the message exactly as delivery would (headers, list headers, DKIM when set)."""
    composer = composer_from_config(config)

    def build(issue: Issue, rendered: RenderedEmail, links: IssueLinks) -> bytes:
        sub = issue.subscriber
        message = composer.compose(
            to=f"{sub.name} <{sub.email}>" if sub.name else sub.email,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            now=now(),
            unsubscribe_url=links.unsubscribe,
        )
        return message.raw or b""

    return build


def issue_maker(app: App, sources: list[str]) -> IssueMaker:
    """The application's composition of one subscriber's issue (matching and signed links).

    The stage objects are built on first use and kept, so a preview server loads the model
    once.
    """
    built: list[Stages] = []

    def make(subscriber: str, day: date) -> tuple[Issue, IssueLinks]:
        if not built:
            built.append(show_embedding_progress(Stages.build(app.config, app.engine), app.err))
        return issue.preview_issue(built[0], subscriber, day, sources)

    return make


def subscriber_emails(app: App) -> list[str]:
    """Everyone the page can show: the subscribers folder and the active stored profiles."""
    folder = app.config.path(app.config.newsletter.subscribers_dir)
    emails = {s.email for s in load_dir(folder)} if folder.is_dir() else set()
    with app.engine.connect() as conn:
        emails |= {s.email for s in active_subscribers(conn)}
    return sorted(emails)


@click.command()
@click.option("--subscriber", "who", help="A subscriber file or email address.")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Issue date (today).")
@click.option("--source", "sources", multiple=True, help="A page URL or file to use (repeatable).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("preview"),
    show_default=True,
    help="Where the .html, .txt and .eml files go.",
)
@click.option("--serve", is_flag=True, help="Serve a local page of subscribers and dates.")
@click.option("--port", type=int, default=8001, show_default=True, help="Port for --serve.")
@pass_app
def preview(
    app: App,
    who: str | None,
    day: datetime | None,
    sources: tuple[str, ...],
    out_dir: Path,
    serve: bool,
    port: int,
) -> None:
    """Show what a subscriber would get, without sending or recording anything."""
    issue_date = day.date() if day else datetime.now(UTC).date()
    config = _with_a_signing_key(app)
    renderer = Renderer(
        config.newsletter, config.email, config.path(config.newsletter.templates_dir)
    )
    make = issue_maker(app, list(sources))
    if serve:
        dates = [issue_date - timedelta(days=n) for n in range(SERVE_DAYS)]
        _serve(app, PreviewSite(renderer, make, subscriber_emails(app), dates), port)
        return
    if not who:
        raise click.UsageError("give --subscriber FILE_OR_EMAIL, or --serve")
    if sources or not _write_enqueued(app, config, who, issue_date, out_dir):
        _write(app, renderer, make(who, issue_date), out_dir)


def _write_enqueued(app: App, config: Config, who: str, day: date, out_dir: Path) -> bool:
    """Write the issue from its outbox row when it was enqueued; False when it was not."""
    try:
        email = find_subscriber(config, app.engine, who).email
    except SubscriberError:
        return False  # said again, in full, by the preview of a new issue
    made = enqueued_message(app.engine, composer_from_config(config), email, day, _now())
    if made is None:
        return False
    if isinstance(made, str):
        raise NewsletterError(f"{email}: the issue of {day} is enqueued but {made}")
    app.err.print(f"{email}: the issue of {day} is in the outbox; shown as it will be sent",
                  markup=False)
    stem = file_stem(email, day)
    files = {out_dir / f"{stem}.html": made.html.encode("utf-8"),
             out_dir / f"{stem}.txt": made.text.encode("utf-8"),
             out_dir / f"{stem}.eml": made.raw or b""}
    _make_dir(out_dir)
    for path in _write_all(files):
        app.console.print(str(path))
    return True


def _make_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NewsletterError(f"{out_dir}: cannot create the folder ({exc.strerror})") from None


def _with_a_signing_key(app: App) -> Config:
    """The config, with a throwaway signing key when NEWSLETTER_SECRET_KEY is not set: a local
    preview needs no secret, and its links (which the live site would refuse) say so."""
    if "SECRET_KEY" in app.config.secrets:
        return app.config
    app.err.print(
        "NEWSLETTER_SECRET_KEY is not set: links in this preview are signed with a throwaway "
        "key and marked preview=1; they will not work on the live site",
        markup=False,
    )
    throwaway = signed_links.PREVIEW_KEY_PREFIX + secrets.token_urlsafe(24)
    env = app.env | {"NEWSLETTER_SECRET_KEY": throwaway}
    app.config = replace(app.config, secrets=Secrets(env))
    return app.config


def _write(app: App, renderer: Renderer, made: tuple[Issue, IssueLinks], out_dir: Path) -> None:
    issue, links = made
    paths = write_preview(renderer, issue, links, out_dir, mime_maker(app.config, _now))
    if not paths:
        who, day = issue.subscriber.email, issue.issue_date
        app.console.print(f"No email for {who} on {day}: nothing matched (quiet day).")
    for path in paths:
        app.console.print(str(path))


def _now() -> datetime:
    return datetime.now(UTC)


def _serve(app: App, site: PreviewSite, port: int) -> None:
    try:
        server = make_server(site, "127.0.0.1", port)
    except OSError as exc:
        raise NewsletterError(f"127.0.0.1:{port}: cannot listen ({exc.strerror})") from None
    app.console.print(f"Preview at {server_url(server)} (Ctrl+C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


commands = [preview]
