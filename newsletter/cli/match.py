"""``newsletter match``: show, read-only, what a subscriber's next email would contain, and why."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url

from newsletter.cli.common import App, pass_app
from newsletter.errors import SubscriberError
from newsletter.match import Matcher, MemoryCache
from newsletter.match.semantic import VectorCache
from newsletter.models import Paper, Pick, Subscriber
from newsletter.sources.ingest import load_papers
from newsletter.store.embeddings import StoreCache
from newsletter.store.history import feedback_for, reference_papers, sent_keys
from newsletter.store.papers import list_papers
from newsletter.store.profiles import get_subscriber
from newsletter.subscribers import load_dir, load_file


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
    sub = resolve_subscriber(app, who)
    if limit is not None:
        sub = replace(sub, max_papers=limit)
    use_store = not sources or _database_exists(app)
    papers = load_papers(list(sources), app.config, date.today()) if sources else []
    cache: VectorCache = StoreCache(app.engine) if use_store else MemoryCache()
    matcher = Matcher.from_settings(app.config.match, cache)
    if use_store:
        with app.engine.connect() as conn:
            if not sources:
                papers = list_papers(conn, since=since)
            sent, judged = sent_keys(conn, sub.email), feedback_for(conn, sub.email)
            refs = reference_papers(conn, sub, judged)
        picks = matcher.match(sub, papers, sent, judged, refs)
    else:
        picks = matcher.match(sub, papers)
    _print(app, sub, picks, len(papers), matcher.semantic, as_json)


def resolve_subscriber(app: App, who: str) -> Subscriber:
    """A subscriber from a file path, the database, or the subscribers folder, in that order."""
    path = Path(who)
    if path.suffix == ".toml" or path.is_file():
        return load_file(path)
    if _database_exists(app):
        with app.engine.connect() as conn:
            stored = get_subscriber(conn, who)
        if stored is not None:
            return stored.subscriber
    folder = app.config.path(app.config.newsletter.subscribers_dir)
    if folder.is_dir():
        for sub in load_dir(folder):
            if sub.email.lower() == who.strip().lower():
                return sub
    raise SubscriberError(
        f"{who}: no such subscriber file, and no subscriber with that email "
        f"in the database or in {folder}"
    )


def _database_exists(app: App) -> bool:
    """Whether there is a database to read, without creating an SQLite file as a side effect."""
    url = make_url(app.config.database_url)
    if url.get_backend_name() != "sqlite":
        return True
    name = url.database or ""
    return bool(name) and name != ":memory:" and Path(name).exists()


def _print(
    app: App, sub: Subscriber, picks: list[Pick], candidates: int, semantic: bool, as_json: bool
) -> None:
    if as_json:
        click.echo(json.dumps([pick_json(p) for p in picks], indent=2, ensure_ascii=False))
        return
    mode = "words and meaning" if semantic else "words only"
    app.console.print(f"{sub.email}: {len(picks)} of {candidates} papers ({mode})", markup=False)
    for rank, pick in enumerate(picks, start=1):
        app.console.print(f"\n{rank:2d}. [{pick.score:.2f}] {pick.paper.title}", markup=False)
        if pick.paper.link:
            app.console.print(f"    {pick.paper.link}", markup=False)
        app.console.print(f"    why: {'; '.join(pick.reasons)}", markup=False)


def pick_json(pick: Pick) -> dict[str, Any]:
    paper: Paper = pick.paper
    return {
        "title": paper.title,
        "url": paper.link,
        "key": paper.key,
        "score": pick.score,
        "reasons": list(pick.reasons),
        "tags": list(pick.tags),
    }


commands = [match]
