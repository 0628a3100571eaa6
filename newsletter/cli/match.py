"""``newsletter match``: show, read-only, what a subscriber's next email would contain, and why."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from newsletter.app.match_report import MatchReport, match_reader
from newsletter.cli.common import App, pass_app
from newsletter.cli.model import fetch_model_first
from newsletter.cli.progress import attach_progress
from newsletter.models import Paper, Pick
from newsletter.wording import count


@click.command()
@click.option("--subscriber", "who", required=True, help="A subscriber file or email address.")
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="A page URL or file to match against instead of the stored papers (repeatable).",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    help="With stored papers: only those first seen on or after this date.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Show at most N papers (default: the subscriber's max_papers).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_app
def match(
    app: App,
    who: str,
    sources: tuple[str, ...],
    since: datetime | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Print the papers this subscriber's next email would hold, best first, with reasons.

    Nothing is recorded: papers shown here are not marked as sent.
    """
    fetch_model_first(app, app.config)
    report = match_reader(
        app.config, lambda: app.engine, who, sources, since, limit,
        on_matcher=lambda matcher: attach_progress(matcher, app.err),
    )
    if report.looked_up is not None:
        app.err.print(report.looked_up.describe(), markup=False)
    _print(app, report, as_json)
    if not as_json:
        _say_fields(app, report)
    _say_unresolved(app, report)


def _say_fields(app: App, report: MatchReport) -> None:
    """A line per topic that names a field: its papers also match by the field's terms."""
    for topic, (shown, total) in report.named_fields.items():
        more = ", ..." if total > len(shown) else ""
        app.err.print(
            f"'{topic}' names a field: its papers also match by {count(total, 'term')} "
            f"({', '.join(shown)}{more})",
            markup=False,
        )


def _say_unresolved(app: App, report: MatchReport) -> None:
    """One line on the liked papers (``papers`` and ``library``) that no paper stands for."""
    if report.liked is None:
        return
    found, given = report.liked
    app.err.print(
        f"liked papers: {found} of {given} found; {given - found} could not be "
        "resolved (not stored, not found on arXiv, or a title no stored paper has)",
        markup=False,
    )


def _print(app: App, report: MatchReport, as_json: bool) -> None:
    """The picks, and how many papers were looked at (and already sent to the reader)."""
    picks = report.picks
    if as_json:
        click.echo(json.dumps([pick_json(p) for p in picks], indent=2, ensure_ascii=False))
        return
    already = report.already
    sent = f"; {count(already, 'paper')} of them already sent to this reader" if already else ""
    app.console.print(
        f"{report.reader.email}: {len(picks)} of {count(report.papers, 'paper')} "
        f"({report.matcher.mode}){sent}",
        markup=False,
    )
    app.console.print(report.matcher.line(), markup=False)
    for rank, chosen in enumerate(picks, start=1):
        app.console.print(f"\n{rank:2d}. [{chosen.score:.2f}] {chosen.paper.title}", markup=False)
        if chosen.paper.link:
            app.console.print(f"    {chosen.paper.link}", markup=False)
        app.console.print(f"    why: {'; '.join(chosen.reasons)}", markup=False)
        if chosen.members:
            app.console.print(f"    for: {', '.join(chosen.members)}", markup=False)


def pick_json(pick: Pick) -> dict[str, Any]:
    paper: Paper = pick.paper
    return {
        "title": paper.title,
        "url": paper.link,
        "key": paper.key,
        "score": pick.score,
        "reasons": list(pick.reasons),
        "tags": list(pick.tags),
        "topic": pick.topic,  # the topic it matched best ("" when no topic brought it in)
        "for": list(pick.members),  # a team's issue: the members it is for
    }


commands = [match]
