"""Papers a reader may pick on the sign-up and preferences pages ("pick papers you would
read"): about a dozen recent papers spread across the store's topics, one per cluster of their
vectors (their words when the sentence model has not embedded them), the same all day.

A pick is posted as a library line ("Title (arXiv:id)", or the title), so picks become liked
papers exactly as pasted ones do (``library_files``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.engine import Engine

from newsletter.app.liked import line
from newsletter.match import reader
from newsletter.match.clusters import representatives
from newsletter.match.lexical import LexicalIndex
from newsletter.match.matcher import Matcher
from newsletter.match.semantic import paper_vector_key
from newsletter.models import Paper
from newsletter.store.papers import list_papers
from newsletter.wording import clip

PICKS = 12
RECENT = timedelta(days=30)
POOL = 600  # the newest papers of the last RECENT clustered
BLURB = 160  # characters of the abstract shown under a title


@dataclass(frozen=True)
class Offered:
    """One paper offered: the library line a pick posts, its title and a line of abstract."""

    value: str
    title: str
    blurb: str


def offered(engine: Engine, matcher: Matcher, now: datetime, n: int = PICKS) -> list[Offered]:
    """``n`` recent papers spread across the store's topics, largest topic first."""
    with engine.connect() as conn:
        pool = list_papers(conn, since=now - RECENT, limit=POOL)
    pool.sort(key=lambda p: p.key)  # the same papers give the same picks, whatever the order
    if not pool:
        return []
    chosen = [pool[i] for i in representatives(features(pool, matcher), n)]
    return [
        Offered(line(p.key, p), " ".join(p.title.split()), clip(" ".join(p.abstract.split()),
                                                                  BLURB))
        for p in chosen
    ]


def features(papers: list[Paper], matcher: Matcher) -> np.ndarray:
    """The papers' stored vectors when every one has one, else their hashed words."""
    if matcher.embedder is not None:
        keys = [paper_vector_key(p) for p in papers]
        found = matcher.cache.get(keys, matcher.embedder.name)
        if len(found) == len(keys):
            return np.stack([found[k] for k in keys])
    return reader.word_matrix(papers, LexicalIndex(papers).idf)
