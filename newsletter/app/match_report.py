"""What ``newsletter match`` shows, read-only: a reader's next picks from the stored papers
(or from pages read now), and what an operator needs to judge them.

Nothing is recorded: papers shown here are not marked as sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine, make_url

from newsletter.app.arxiv_lookup import LookupReport, client, liked_ids, look_up
from newsletter.app.issue import History, Model, history, pick
from newsletter.app.model_doors import ModelRun
from newsletter.app.readers import find_subscriber
from newsletter.app.sentence_model import MatcherState, state_of
from newsletter.config import Config
from newsletter.library_files import alternatives, unique
from newsletter.match import Matcher, MemoryCache, fields
from newsletter.match.semantic import VectorCache
from newsletter.models import Paper, Pick, Subscriber, normalize_title
from newsletter.sources.reading import load_papers
from newsletter.store.embeddings import StoreCache
from newsletter.store.papers import list_papers


@dataclass(frozen=True)
class MatchReport:
    """A reader's picks and what was looked at to choose them."""

    reader: Subscriber
    picks: list[Pick]
    papers: int  # candidate papers looked at
    already: int  # of those, already sent to this reader
    matcher: MatcherState  # words and meaning (which model), or words only and what to run
    named_fields: dict[str, tuple[tuple[str, ...], int]]  # topic -> (some terms, how many)
    looked_up: LookupReport | None  # liked ids asked of the arXiv API, when any were
    liked: tuple[int, int] | None  # liked papers (found, given), when the reader likes any


def database_exists(config: Config) -> bool:
    """Whether there is a database to read, without creating an SQLite file as a side effect."""
    url = make_url(config.database_url)
    if url.get_backend_name() != "sqlite":
        return True
    name = url.database or ""
    return bool(name) and name != ":memory:" and Path(name).exists()


def match_reader(
    config: Config,
    engine: Callable[[], Engine],
    who: str,
    sources: Sequence[str] = (),
    since: datetime | None = None,
    limit: int | None = None,
    on_matcher: Callable[[Any], None] | None = None,
) -> MatchReport:
    """The picks reader ``who`` (a file or an address) would get now, from the stored papers
    (first seen since ``since``) or from ``sources`` read now; ``engine`` is only opened when
    the database exists; ``on_matcher`` sees the matcher before it works (for progress)."""
    stored = engine() if database_exists(config) else None
    sub = find_subscriber(config, stored, who)
    if limit is not None:
        sub = replace(sub, max_papers=limit)
    use_store = stored is not None or not sources
    db = stored if stored is not None else engine() if use_store else None
    papers = load_papers(list(sources), config, date.today()) if sources else []
    cache: VectorCache = StoreCache(db) if db is not None else MemoryCache()
    matcher = Matcher.from_settings(config.match, cache)
    state = state_of(matcher)
    if on_matcher is not None:
        on_matcher(matcher)
    past, looked = None, None
    if db is not None:
        looked = _look_up_liked(config, db, sub)
        with db.connect() as conn:
            if not sources:
                papers = list_papers(conn, since=since)
            past = history(conn, [sub])
    run = ModelRun.start(config, db) if db is not None else None
    model = Model(config, db, run) if db is not None else None
    picks = pick(matcher, [sub], papers, past, model)[sub.email]
    if run is not None:
        run.record()
    already = len({p.key for p in papers} & past.sent.get(sub.email, set())) if past else 0
    return MatchReport(
        sub, picks, len(papers), already, state,
        fields.named(sub.topics, matcher.vocabulary), looked, _liked(sub, papers, past),
    )


def _look_up_liked(config: Config, engine: Engine, sub: Subscriber) -> LookupReport | None:
    if not liked_ids([sub]):
        return None
    with client(config) as api:
        report = look_up(engine, api, [sub], datetime.now(UTC))
    return report if report.said else None


def _liked(sub: Subscriber, papers: list[Paper], past: History | None) -> tuple[int, int] | None:
    """How many of the liked papers (``papers`` and ``library``) a paper stands for."""
    keys = unique([f"arxiv:{p}" for p in sub.papers] + list(sub.library))
    liked = [alternatives(k) for k in keys]
    if not liked:
        return None
    found = set(past.references or {}) if past else set()
    found |= {p.key for p in papers} | {f"title:{normalize_title(p.title)}" for p in papers}
    return sum(1 for keys in liked if found.intersection(keys)), len(liked)
