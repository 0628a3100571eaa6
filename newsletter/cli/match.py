"""``newsletter match``: show, read-only, what a subscriber's next email would contain, and why."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url

from newsletter.app.arxiv_lookup import liked_ids, look_up
from newsletter.app.issue import History, history, pick
from newsletter.app.readers import find_subscriber
from newsletter.cli.common import App, pass_app
from newsletter.cli.progress import EmbeddingProgress
from newsletter.library_files import alternatives, unique
from newsletter.match import Matcher, MemoryCache, fields
from newsletter.match.semantic import VectorCache
from newsletter.models import Paper, Pick, Subscriber, normalize_title
from newsletter.sources.http import Fetcher
from newsletter.sources.reading import load_papers
from newsletter.store.embeddings import StoreCache
from newsletter.store.papers import list_papers
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
    sub = find_subscriber(app.config, app.engine if _database_exists(app) else None, who)
    if limit is not None:
        sub = replace(sub, max_papers=limit)
    use_store = not sources or _database_exists(app)
    papers = load_papers(list(sources), app.config, date.today()) if sources else []
    cache: VectorCache = StoreCache(app.engine) if use_store else MemoryCache()
    matcher = Matcher.from_settings(app.config.match, cache)
    if matcher.embedder is not None:
        matcher.embedder = EmbeddingProgress(matcher.embedder, app.err)
    past = None
    if use_store:
        if liked_ids([sub]):
            with Fetcher(app.config.fetch) as fetcher:
                looked = look_up(app.engine, fetcher, app.config.match.arxiv_api, [sub], _now())
            if looked.asked or looked.error:
                app.err.print(looked.describe(), markup=False)
        with app.engine.connect() as conn:
            if not sources:
                papers = list_papers(conn, since=since)
            past = history(conn, [sub])
    picks = pick(matcher, [sub], papers, past)[sub.email]
    already = len({p.key for p in papers} & past.sent.get(sub.email, set())) if past else 0
    _print(app, sub, picks, (len(papers), already), matcher.semantic, as_json)
    if not as_json:
        _say_fields(app, sub, matcher.vocabulary)
    _say_unresolved(app, sub, papers, past)


def _say_fields(app: App, sub: Subscriber, vocabulary: fields.Vocabulary) -> None:
    """A line per topic that names a field: its papers also match by the field's terms."""
    for topic, (shown, total) in fields.named(sub.topics, vocabulary).items():
        more = ", ..." if total > len(shown) else ""
        app.err.print(
            f"'{topic}' names a field: its papers also match by {count(total, 'term')} "
            f"({', '.join(shown)}{more})",
            markup=False,
        )


def _say_unresolved(app: App, sub: Subscriber, papers: list[Paper], past: History | None) -> None:
    """One line on the liked papers (``papers`` and ``library``) that no paper stands for."""
    keys = unique([f"arxiv:{p}" for p in sub.papers] + list(sub.library))
    liked = [alternatives(k) for k in keys]
    if not liked:
        return
    found = set(past.references or {}) if past else set()
    found |= {p.key for p in papers} | {f"title:{normalize_title(p.title)}" for p in papers}
    missing = sum(1 for keys in liked if not found.intersection(keys))
    app.err.print(
        f"liked papers: {len(liked) - missing} of {len(liked)} found; {missing} could not be "
        "resolved (not stored, not found on arXiv, or a title no stored paper has)",
        markup=False,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _database_exists(app: App) -> bool:
    """Whether there is a database to read, without creating an SQLite file as a side effect."""
    url = make_url(app.config.database_url)
    if url.get_backend_name() != "sqlite":
        return True
    name = url.database or ""
    return bool(name) and name != ":memory:" and Path(name).exists()


def _print(
    app: App,
    sub: Subscriber,
    picks: list[Pick],
    candidates: tuple[int, int],
    semantic: bool,
    as_json: bool,
) -> None:
    """The picks; ``candidates`` is (papers looked at, of those already sent to the reader)."""
    if as_json:
        click.echo(json.dumps([pick_json(p) for p in picks], indent=2, ensure_ascii=False))
        return
    mode = "words and meaning" if semantic else "words only"
    papers, already = candidates
    sent = f"; {count(already, 'paper')} of them already sent to this reader" if already else ""
    app.console.print(
        f"{sub.email}: {len(picks)} of {count(papers, 'paper')} ({mode}){sent}", markup=False
    )
    for rank, chosen in enumerate(picks, start=1):
        app.console.print(f"\n{rank:2d}. [{chosen.score:.2f}] {chosen.paper.title}", markup=False)
        if chosen.paper.link:
            app.console.print(f"    {chosen.paper.link}", markup=False)
        app.console.print(f"    why: {'; '.join(chosen.reasons)}", markup=False)


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
