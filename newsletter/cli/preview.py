"""``newsletter preview``: write or serve exactly what a subscriber would get, sending nothing.

It composes the issue as a run would (matching, signed links), renders it, and writes
``<subscriber>-<date>.html``, ``.txt`` and ``.eml`` (for a team channel, ``<channel>-<date>.json``,
the platform's payload, and ``.txt``); nothing is queued, sent or marked as sent.
An issue already in the outbox is rendered from its row, as the worker will send it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from newsletter.app.channels import is_channel, write_channel_preview
from newsletter.app.preview import (
    PreviewIssues,
    issue_maker,
    mime_maker,
    preview_renderer,
    subscriber_emails,
    with_signing_key,
    write_enqueued,
    write_preview,
)
from newsletter.cli.common import App, pass_app
from newsletter.cli.model import fetch_model_first
from newsletter.cli.progress import show_embedding_progress
from newsletter.config import Config
from newsletter.errors import NewsletterError
from newsletter.web.preview import PreviewSite, make_server, server_url

SERVE_DAYS = 7  # the page offers the chosen date and the days before it


@click.command()
@click.option("--subscriber", "who",
              help="A subscriber file or email address, or a team channel's name.")
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
    fetch_model_first(app, config)
    renderer = preview_renderer(config)
    make = issue_maker(config, app.engine, list(sources),
                       lambda stages: show_embedding_progress(stages, app.err))
    if serve:
        dates = [issue_date - timedelta(days=n) for n in range(SERVE_DAYS)]
        issues = PreviewIssues(renderer, make, subscriber_emails(config, app.engine), dates)
        _serve(app, PreviewSite(issues), port)
        return
    if not who:
        raise click.UsageError("give --subscriber FILE_OR_EMAIL, or --serve")
    queued = None if sources else write_enqueued(config, app.engine, who, issue_date, out_dir,
                                                 _now())
    if queued is not None:
        email, paths = queued
        app.err.print(f"{email}: the issue of {issue_date} is in the outbox; shown as it will "
                      "be sent", markup=False)
    else:
        made = make(who, issue_date)
        if isinstance(made, str):  # an earlier day with no issue
            app.console.print(made, markup=False)
            return
        issue, links = made
        if is_channel(issue):  # a team channel: its platform's payload, not an email
            paths = write_channel_preview(config, issue, out_dir) if issue.picks else []
        else:
            paths = write_preview(renderer, issue, links, out_dir, mime_maker(config, _now))
        if not paths:
            app.console.print(f"No email for {issue.subscriber.email} on {issue.issue_date}: "
                              "nothing matched (quiet day).", markup=False)
    for path in paths:
        app.console.print(str(path))


def _with_a_signing_key(app: App) -> Config:
    """The config, with a throwaway signing key when NEWSLETTER_SECRET_KEY is not set: a local
    preview needs no secret, and its links (which the live site would refuse) say so."""
    config = with_signing_key(app.config, app.env)
    if config is None:
        return app.config
    app.err.print(
        "NEWSLETTER_SECRET_KEY is not set: links in this preview are signed with a throwaway "
        "key and marked preview=1; they will not work on the live site",
        markup=False,
    )
    app.config = config
    return config


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
