"""What ``status`` says about the language model: whether it is on, what is kept, and what the
last run asked of it (per use: asked, answered, failed, skipped, tokens)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from newsletter.app.issue import CANDIDATE_DAYS, candidates
from newsletter.app.model_answers import labelled
from newsletter.app.model_doors import READERS
from newsletter.config import Config
from newsletter.store import llm_answers

USES = {"paper_fields": "labels", "reader_profile": "reader phrases", "reader_rerank": "rerank"}


def model_lines(config: Config, engine: Engine, now: datetime) -> list[str]:
    """Plain lines for ``status``; one line when the model is off."""
    if not config.llm.enabled:
        return ["language model: off ([llm] base_url is not set)"]
    with engine.connect() as conn:
        recent = candidates(conn, now, CANDIDATE_DAYS)
        have = sum(1 for p in labelled(config, conn, recent) if p.labels)
        kept = llm_answers.kept_counts(conn)
        runs = llm_answers.last_runs(conn)
    lines = [
        f"language model: {config.llm.model} at {config.llm.base_url}",
        f"  papers of the last {CANDIDATE_DAYS} days labelled: {have} of {len(recent)} "
        f"({len(recent) - have} pending); profiles widened: {kept.get('reader_profile', 0)}; "
        f"rerank scores kept: {kept.get('reader_rerank', 0)}",
    ]
    for use, name in USES.items():
        run = runs.get(use)
        if run is None:
            continue
        age = now - run.at if run.at.tzinfo else timedelta(0)
        lines.append(
            f"  last run ({run.at:%Y-%m-%d %H:%M} UTC, {_ago(age)}), {name}: {run.asked} asked, "
            f"{run.answered} answered, {run.failed} failed, {run.skipped} skipped (budget), "
            f"{run.tokens} tokens"
        )
    readers = runs.get(READERS)
    if readers is not None:
        lines.append(f"  last run's readers: {readers.answered} of {readers.asked} reranked by "
                     f"the model, {readers.failed} got the ranking without it")
    return lines


def _ago(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    return f"{minutes // 60} h ago" if minutes >= 60 else f"{minutes} min ago"
