"""``newsletter annotate``: label the stored papers a language model has not labelled yet."""

from __future__ import annotations

from datetime import datetime

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from newsletter.app.annotate import AnnotateReport, annotate
from newsletter.app.papers import stored_papers
from newsletter.cli.common import App, pass_app


@click.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Papers first seen on or after.")
@pass_app
def annotate_command(app: App, since: datetime | None) -> None:
    """Ask the [llm] model for the field labels and one-line summary of every stored paper
    that has none (stopping keeps what was done: run it again to go on)."""
    papers = stored_papers(app.engine, since)
    columns = (TextColumn("labelling"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=app.console, transient=True,
                  disable=not app.console.is_terminal) as bar:
        task = bar.add_task("labelling", total=len(papers))

        def show(report: AnnotateReport) -> None:
            bar.update(task, completed=min(len(papers), report.labelled + report.already))

        report = annotate(app.config, app.engine, papers, show)
    app.console.print(report.describe(), markup=False)
    if report.pending:
        raise SystemExit(1)  # some are left for the next call: say so to cron


annotate_command.name = "annotate"
commands = [annotate_command]
