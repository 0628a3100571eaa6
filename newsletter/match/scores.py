"""Score every distinct phrase and reference paper against every candidate paper, in bulk.

Subscribers share phrases, so each distinct topic or exclude phrase is scored once; the
semantic side is one matrix product of phrase vectors by paper vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsletter.match import fuse as fusion
from newsletter.match.lexical import LexicalIndex
from newsletter.match.semantic import Embedder, VectorCache, embed_papers, embed_phrases
from newsletter.match.tokens import fold
from newsletter.models import Paper


@dataclass
class BatchScores:
    """Per-phrase and per-reference scores over one list of candidate papers."""

    papers: list[Paper]
    index: LexicalIndex
    rows: dict[str, int]  # phrase -> row in the phrase matrices
    lexical: np.ndarray  # phrases x papers, lexical evidence mapped onto [0, 1]
    cosines: np.ndarray | None  # phrases x papers, raw cosines; None without embeddings
    semantic_parts: np.ndarray | None  # phrases x papers, semantic evidence in [0, 1]
    fused: np.ndarray  # phrases x papers, calibrated relevance in [0, 1]
    refs: dict[str, int]  # reference paper key -> row in ``similar``
    similar: np.ndarray  # references x papers, paper-to-paper similarity in [0, 1]
    ref_titles: dict[str, str]
    word_hits: dict[str, np.ndarray]  # exclude phrase -> papers holding all its words
    positions: dict[str, int]  # paper key -> column
    upvotes: np.ndarray  # per paper, unknown counted as 0
    by_author: dict[str, list[int]]  # normalised author name -> columns
    contexts: dict[tuple[str, ...], int]  # a profile's topics -> row in ``context``
    context: np.ndarray | None  # profiles x papers, closeness to the profile's centre

    def context_of(self, topics: tuple[str, ...]) -> np.ndarray | float:
        """The profile-context factor for these topics (1 without embeddings)."""
        if self.context is None or topics not in self.contexts:
            return 1.0
        return np.asarray(self.context[self.contexts[topics]])

    @property
    def semantic(self) -> bool:
        return self.cosines is not None


def score_batch(
    papers: Sequence[Paper],
    phrases: Sequence[str],
    excludes: Sequence[str],
    references: Sequence[Paper],
    *,
    profiles: Sequence[tuple[str, ...]] = (),
    embedder: Embedder | None,
    cache: VectorCache,
    lexical_weight: float,
    cal: fusion.Calibration = fusion.DEFAULT,
) -> BatchScores:
    """Build the score matrices for ``papers`` against all ``phrases`` and ``references``.

    ``profiles`` lists each subscriber's topics (all among ``phrases``) for the context factor.
    """
    papers = list(papers)
    phrases = list(dict.fromkeys([*phrases, *excludes]))
    rows = {p: i for i, p in enumerate(phrases)}
    groups = list(dict.fromkeys(t for t in profiles if t))
    references = list({p.key: p for p in references}.values())
    index = _lexical_index(papers)
    lexical = fusion.lexical_part(index.score(phrases), cal)
    cosines = semantic = similar = context = None
    if embedder is not None and papers:
        cosines, similar, vectors = _semantic(embedder, papers, phrases, references, cache, cal)
        semantic = fusion.semantic_part(cosines, cal)
        if groups:
            member_rows = [[rows[t] for t in g] for g in groups]
            context = fusion.context(vectors[0], vectors[1], member_rows, cal)
    if similar is None:
        # Without embeddings a reference's title serves as one more phrase.
        similar = fusion.lexical_part(index.score([r.title for r in references]), cal)
    return BatchScores(
        papers=papers,
        index=index,
        rows=rows,
        lexical=lexical,
        cosines=cosines,
        semantic_parts=semantic,
        fused=lexical if semantic is None else fusion.mix(lexical, semantic, lexical_weight),
        refs={r.key: i for i, r in enumerate(references)},
        similar=similar,
        ref_titles={r.key: r.title for r in references},
        word_hits={e: index.containing(e) for e in dict.fromkeys(excludes)},
        positions={p.key: i for i, p in enumerate(papers)},
        upvotes=np.array([p.upvotes or 0 for p in papers], dtype=np.int64),
        by_author=_authors(papers),
        contexts={g: i for i, g in enumerate(groups)},
        context=context,
    )


def _semantic(
    embedder: Embedder,
    papers: list[Paper],
    phrases: list[str],
    references: list[Paper],
    cache: VectorCache,
    cal: fusion.Calibration,
) -> tuple[np.ndarray, np.ndarray | None, tuple[np.ndarray, np.ndarray]]:
    """Phrase-to-paper cosines (one matrix product), reference closeness if any, the vectors."""
    paper_vectors = embed_papers(embedder, papers, cache)
    cosines = np.zeros((0, len(papers)), dtype=np.float32)
    phrase_vectors = np.zeros((0, paper_vectors.shape[1]), dtype=np.float32)
    if phrases:
        phrase_vectors = embed_phrases(embedder, phrases, cache)
        cosines = phrase_vectors @ paper_vectors.T
    vectors = (phrase_vectors, paper_vectors)
    if not references:
        return cosines, None, vectors
    ref_vectors = embed_papers(embedder, references, cache)
    near = fusion.ramp(ref_vectors @ paper_vectors.T, cal.like_low, cal.like_high)
    return cosines, near, vectors


def author_name(author: str) -> str:
    """An author's name folded for comparison: case, accents, dots, commas and spacing."""
    return " ".join(fold(author).replace(".", " ").replace(",", " ").split())


def _authors(papers: Sequence[Paper]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, paper in enumerate(papers):
        for author in paper.authors:
            out.setdefault(author_name(author), []).append(i)
    return out


_last_index: list[tuple[list[Paper], LexicalIndex]] = []


def _lexical_index(papers: list[Paper]) -> LexicalIndex:
    """The index of ``papers``, reused while consecutive batches score the same papers.

    An issue run scores batch after batch of subscribers against one candidate list; indexing
    those papers again for every batch was a tenth of the run. Papers are immutable, so equal
    lists give equal indexes.
    """
    if _last_index and _last_index[0][0] == papers:
        return _last_index[0][1]
    index = LexicalIndex(papers)
    _last_index[:] = [(papers, index)]
    return index
