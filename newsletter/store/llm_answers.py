"""What a language model answered, kept so that nothing is asked twice: replies by request
key (paper labels, reader phrases), rerank scores by reader and paper, and what each run
asked (for ``status``). The store only keeps replies; ``llm.contract`` reads them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from newsletter.store.tables import llm_answers, llm_runs, rerank_scores

_CHUNK = 500


def _insert(conn: Connection, table: sa.Table) -> Any:
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[conn.dialect.name]
    return dialect.insert(table).on_conflict_do_nothing()


def kept_replies(conn: Connection, keys: Sequence[str]) -> dict[str, Any]:
    """The kept reply of each request key that has one."""
    out: dict[str, Any] = {}
    wanted = list(dict.fromkeys(keys))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = sa.select(llm_answers.c.key, llm_answers.c.reply)
        query = query.where(llm_answers.c.key.in_(chunk))
        out.update((key, reply) for key, reply in conn.execute(query))
    return out


def keep_replies(
    conn: Connection, use: str, model: str, replies: Mapping[str, Any], now: datetime
) -> None:
    """Keep ``replies`` (request key -> reply); a key kept already keeps its first reply."""
    rows = [{"key": k, "use": use, "model": model, "reply": r, "made_at": now}
            for k, r in replies.items()]
    if rows:
        conn.execute(_insert(conn, llm_answers), rows)


def kept_scores(conn: Connection, reader: str, paper_keys: Iterable[str]) -> dict[str, int]:
    """The kept rerank score of each paper for ``reader`` (a profile digest)."""
    wanted = list(dict.fromkeys(paper_keys))
    out: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        query = sa.select(rerank_scores.c.paper_key, rerank_scores.c.score).where(
            rerank_scores.c.reader == reader,
            rerank_scores.c.paper_key.in_(wanted[start : start + _CHUNK]),
        )
        out.update((key, int(score)) for key, score in conn.execute(query))
    return out


def keep_scores(
    conn: Connection, reader: str, model: str, scores: Mapping[str, int], now: datetime
) -> None:
    rows = [{"reader": reader, "paper_key": k, "score": s, "model": model, "made_at": now}
            for k, s in scores.items()]
    if rows:
        conn.execute(_insert(conn, rerank_scores), rows)


@dataclass(frozen=True)
class RunCounts:
    """What one run asked the model for one use."""

    at: datetime
    use: str
    asked: int
    answered: int
    failed: int
    skipped: int
    tokens: int


def record_run(conn: Connection, counts: Iterable[RunCounts]) -> None:
    rows = [vars(c) for c in counts if c.asked or c.skipped]
    if rows:
        conn.execute(sa.insert(llm_runs), rows)


def last_runs(conn: Connection) -> dict[str, RunCounts]:
    """The latest run's counts for each use."""
    latest = (
        sa.select(llm_runs.c.use, sa.func.max(llm_runs.c.id).label("id"))
        .group_by(llm_runs.c.use)
        .subquery()
    )
    query = sa.select(llm_runs).join(latest, llm_runs.c.id == latest.c.id)
    return {
        row["use"]: RunCounts(row["at"], row["use"], row["asked"], row["answered"],
                              row["failed"], row["skipped"], row["tokens"])
        for row in conn.execute(query).mappings()
    }


def kept_counts(conn: Connection) -> dict[str, int]:
    """How many replies are kept per use (rerank: scores kept)."""
    query = sa.select(llm_answers.c.use, sa.func.count()).group_by(llm_answers.c.use)
    out = {use: int(n) for use, n in conn.execute(query)}
    scores = conn.execute(sa.select(sa.func.count()).select_from(rerank_scores)).scalar_one()
    out["reader_rerank"] = int(scores)
    return out
