"""``newsletter fetch``: ingest configured sources (or the given ones) into the store."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn

from newsletter.app.arxiv_lookup import categorise, client
from newsletter.app.ingest import SourceReport, chosen_sources, ingest, open_fetcher
from newsletter.cli.common import App, pass_app
from newsletter.wording import count


@click.command()
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="URL|PATH",
    help="Fetch this URL, file, folder or quoted glob instead of the configured sources "
    "(repeatable).",
)
@pass_app
def fetch(app: App, sources: tuple[str, ...]) -> None:
    """Fetch and parse digest pages, storing new papers (and asking the arXiv API for their
    categories); exit 1 if any source failed."""
    specs = chosen_sources(app.config, sources)
    fetcher = open_fetcher(app.config.fetch, on_retry=lambda line: _warn(app, line))
    with fetcher, _progress(app, len(specs)) as progress:
        task = progress.add_task("fetching", total=len(specs))

        def show(report: SourceReport) -> None:
            progress.advance(task)
            progress.console.print(describe(report))

        reports = ingest(app.engine, app.config, specs, fetcher, datetime.now(UTC), show)
    with client(app.config) as api:
        looked = categorise(app.engine, api, datetime.now(UTC))
    if looked.said:
        app.console.print(looked.describe(), markup=False)
    failed = [r for r in reports if r.status == "failed"]
    app.console.print(summary(reports))
    if failed:
        raise SystemExit(1)


def _warn(app: App, line: str) -> None:
    app.err.print(line, markup=False, highlight=False, soft_wrap=True)


def _progress(app: App, total: int) -> Progress:
    """A spinner while several sources are read, on a terminal only (a pipe gets the lines)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description} {task.completed}/{task.total}"),
        console=app.console,
        transient=True,
        disable=total < 2 or not app.console.is_terminal,
    )


def describe(report: SourceReport) -> str:
    """One line per source (each page of a folder or glob is a source), as console markup."""
    source = escape(report.source)
    if report.status == "failed":
        return f"[red]failed[/red]  {source}: {escape(report.error)}"
    if report.status == "not-modified":
        return f"[dim]not modified[/dim]  {source}"
    c = report.counts
    line = (
        f"ok  {source}: {report.entries} entries, {c.new} new, "
        f"{c.updated} updated, {c.unchanged} unchanged"
    )
    if report.skipped:
        line += f", {len(report.skipped)} skipped ({escape(report.skipped[0])})"
    if report.repaired:
        line += f"; {escape('; '.join(report.repaired))}"
    return line


def summary(reports: list[SourceReport]) -> str:
    new = sum(r.counts.new for r in reports)
    failed = sum(r.status == "failed" for r in reports)
    return f"{count(len(reports), 'source')}, {count(new, 'new paper')}, {failed} failed"


commands = [fetch]
