"""``newsletter run``: fetch, match, render, enqueue and send once, then report each stage."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from newsletter.app.ingest import open_fetcher
from newsletter.app.mailers import local_trial, require_secret
from newsletter.app.run import run_once
from newsletter.app.stages import Stages
from newsletter.cli.common import App, pass_app, sending_mailer
from newsletter.cli.fetch import describe
from newsletter.cli.model import fetch_model_first
from newsletter.cli.progress import show_embedding_progress
from newsletter.cli.send import exit_status


@click.command()
@click.option("--no-send", is_flag=True, help="Stop after enqueueing; send later with `send`.")
@pass_app
def run(app: App, no_send: bool) -> None:
    """Run the whole pipeline once for every subscriber who is due now."""
    require_secret(app.config)  # the key and the mailer are checked before anything is fetched
    mailer = None if no_send else sending_mailer(app.config)
    if mailer is not None and (trial := local_trial(app.config, mailer)):
        app.err.print(trial, markup=False)
    fetch_model_first(app, app.config)
    stages = show_embedding_progress(Stages.build(app.config, app.engine), app.err)
    with open_fetcher(app.config.fetch) as fetcher:
        report = run_once(
            stages,
            datetime.now(UTC),
            fetcher,
            mailer,
            lambda r: app.console.print(describe(r)),
        )
    app.console.print(report.describe(), markup=False)
    sent = exit_status(report.send) if report.send is not None else 0
    if report.failed_sources or sent == 1:
        raise SystemExit(1)  # a source failed, or messages failed for good: say so to cron
    if sent:
        raise SystemExit(sent)  # the relay failed: the issue waits for the next round


commands = [run]
