"""Embed ahead of the enqueue: the vectors of today's candidate papers (with their kept labels)
and of every due reader's topic, exclude and model-written phrases, computed once, in the
process that starts the run.

The enqueue (one process or several shards) then finds them all cached and never loads the
model: its memory is paid once, in one place, and no two shards embed the same phrase.
Liked papers that no issue ever carried are still embedded where they are first needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from newsletter.app.issue import candidates
from newsletter.app.model_answers import expansions, labelled
from newsletter.app.stages import Stages
from newsletter.match.scores import phrases_to_embed
from newsletter.match.semantic import embed, paper_texts, phrase_texts
from newsletter.models import Paper, Subscriber
from newsletter.schedule import due_date

CHUNK = 4000  # texts embedded at a time


def embed_ahead(
    stages: Stages,
    now: datetime,
    readers: Iterable[Subscriber],
    papers: Sequence[Paper] | None = None,
) -> int:
    """Compute and cache the vectors today's matching of ``readers`` will ask for; returns how
    many were not cached yet (0, and nothing loaded, without semantic matching)."""
    matcher = stages.matcher
    if matcher.embedder is None:
        return 0
    with stages.engine.connect() as conn:
        papers = labelled(stages.config, conn, papers if papers is not None else
                          candidates(conn, now))
    if not papers:
        return 0
    topics: dict[str, None] = {}
    excludes: dict[str, None] = {}
    due = [sub for sub in readers if due_date(sub, now) is not None]  # ``readers`` may stream
    for sub in due:
        topics.update(dict.fromkeys(sub.topics))
        excludes.update(dict.fromkeys(sub.exclude))
    with stages.engine.connect() as conn:
        widened = expansions(stages.config, conn, due)
    plain = [p for x in widened.values() for p in (*x.phrases, *x.exclude_phrases)]
    phrases = phrases_to_embed(papers, list(topics), list(excludes), matcher.vocabulary, plain)
    texts = paper_texts(papers) | phrase_texts(phrases)
    cached = matcher.cache.known(list(texts), matcher.embedder.name)
    missing = [(k, t) for k, t in texts.items() if k not in cached]
    for start in range(0, len(missing), CHUNK):  # each chunk stored as soon as it is computed
        embed(matcher.embedder, dict(missing[start : start + CHUNK]), matcher.cache)
    return len(missing)
