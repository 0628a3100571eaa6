"""``newsletter run``: fetch, match, render, enqueue and send once, then report each stage."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from newsletter.cli.common import App, pass_app
from newsletter.cli.fetch import describe
from newsletter.delivery.base import mailer_from_config
from newsletter.pipeline import Parts
from newsletter.runner import RunReport, run_once
from newsletter.sources.http import Fetcher


@click.command()
@click.option("--no-send", is_flag=True, help="Stop after enqueueing; send later with `send`.")
@pass_app
def run(app: App, no_send: bool) -> None:
    """Run the whole pipeline once for every subscriber who is due now."""
    parts = Parts.build(app.config, app.engine)
    mailer = None if no_send else mailer_from_config(app.config)
    with Fetcher(app.config.fetch) as fetcher:
        report = run_once(
            parts,
            datetime.now(UTC),
            fetcher,
            mailer,
            lambda r: app.console.print(describe(r)),
        )
    app.console.print(summary(report), markup=False)
    if report.failed_sources:
        raise SystemExit(1)


def summary(report: RunReport) -> str:
    e = report.enqueue
    lines = [
        f"matched {e.papers} candidate papers: {e.enqueued} issues enqueued, "
        f"{e.already} already queued, {e.quiet} with nothing matched, {e.not_due} not due"
    ]
    if report.send is not None:
        s = report.send
        lines.append(
            f"sent {s.sent}, retrying {s.retrying}, failed {s.failed}, suppressed {s.suppressed}"
        )
    return "\n".join(lines)


commands = [run]
