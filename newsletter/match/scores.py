"""Score every distinct phrase and reference paper against every candidate paper, in bulk.

Subscribers share phrases, so each distinct topic or exclude phrase is scored once; the
semantic side is one matrix product of phrase vectors by paper vectors. A phrase holding an
acronym that today's papers define ("SNN", "deep RL") is also scored spelt out, and keeps the
better of the two scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from newsletter.match import acronyms
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
    aliases: dict[str, str]  # another key a reference is known by (title:...) -> its key

    @property
    def semantic(self) -> bool:
        return self.cosines is not None


def score_batch(
    papers: Sequence[Paper],
    phrases: Sequence[str],
    excludes: Sequence[str],
    references: Sequence[Paper],
    *,
    aliases: dict[str, str] | None = None,
    embedder: Embedder | None,
    cache: VectorCache,
    lexical_weight: float,
    cal: fusion.Calibration = fusion.DEFAULT,
) -> BatchScores:
    """Build the score matrices for ``papers`` against all ``phrases`` and ``references``."""
    papers = list(papers)
    phrases = list(dict.fromkeys([*phrases, *excludes]))
    rows = {p: i for i, p in enumerate(phrases)}
    references = list({p.key: p for p in references}.values())
    index, known = _lexical_index(papers)
    spelt, every = _spelt_out(phrases, known)
    fold = _folder(phrases, every, spelt)
    lexical = fold(fusion.lexical_part(index.score(every), cal))
    cosines = semantic = similar = None
    if embedder is not None and papers:
        raw, similar = _semantic(embedder, papers, every, references, cache, cal)
        cosines = fold(raw)
        semantic = fusion.semantic_part(cosines, cal)
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
        aliases=dict(aliases or {}),
    )


def phrases_to_embed(papers: Sequence[Paper], phrases: Sequence[str]) -> list[str]:
    """Every text ``score_batch`` embeds for ``phrases`` against ``papers``: the phrases and
    their spelt-out forms (so vectors can be computed ahead, in a process of their own)."""
    return _spelt_out(list(dict.fromkeys(phrases)), _lexical_index(list(papers))[1])[1]


def _spelt_out(phrases: list[str], known: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The spelt-out form of each phrase holding a defined acronym, and every phrase to score."""
    spelt = {p: e for p in phrases if (e := acronyms.expand(p, known))}
    return spelt, list(dict.fromkeys([*phrases, *spelt.values()]))


def _folder(
    phrases: list[str], every: list[str], spelt: dict[str, str]
) -> Callable[[np.ndarray], np.ndarray]:
    """Turn a matrix over ``every`` phrase (acronyms spelt out added) into one over ``phrases``,
    each row the better of the phrase and its spelt-out form."""
    at = {p: i for i, p in enumerate(every)}
    plain = np.array([at[p] for p in phrases], dtype=np.int64)
    other = np.array([at[spelt.get(p, p)] for p in phrases], dtype=np.int64)

    def fold(matrix: np.ndarray) -> np.ndarray:
        if not spelt:
            return matrix
        return np.asarray(np.maximum(matrix[plain], matrix[other]))

    return fold


def _semantic(
    embedder: Embedder,
    papers: list[Paper],
    phrases: list[str],
    references: list[Paper],
    cache: VectorCache,
    cal: fusion.Calibration,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Phrase-to-paper cosines (one matrix product) and reference closeness, if any."""
    paper_vectors = embed_papers(embedder, papers, cache)
    cosines = np.zeros((0, len(papers)), dtype=np.float32)
    phrase_vectors = np.zeros((0, paper_vectors.shape[1]), dtype=np.float32)
    if phrases:
        phrase_vectors = embed_phrases(embedder, phrases, cache)
        cosines = phrase_vectors @ paper_vectors.T
    if not references:
        return cosines, None
    ref_vectors = embed_papers(embedder, references, cache)
    near = fusion.ramp(ref_vectors @ paper_vectors.T, cal.like_low, cal.like_high)
    return cosines, near


def author_name(author: str) -> str:
    """An author's name folded for comparison: case, accents, dots, commas and spacing."""
    return " ".join(fold(author).replace(".", " ").replace(",", " ").split())


def _authors(papers: Sequence[Paper]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, paper in enumerate(papers):
        for author in paper.authors:
            out.setdefault(author_name(author), []).append(i)
    return out


_last_index: list[tuple[list[Paper], LexicalIndex, dict[str, str]]] = []


def _lexical_index(papers: list[Paper]) -> tuple[LexicalIndex, dict[str, str]]:
    """The index of ``papers`` and the acronyms they define, reused while consecutive batches
    score the same papers.

    An issue run scores batch after batch of subscribers against one candidate list; indexing
    those papers again for every batch was a tenth of the run. Papers are immutable, so equal
    lists give equal indexes.
    """
    if _last_index and _last_index[0][0] == papers:
        return _last_index[0][1], _last_index[0][2]
    index = LexicalIndex(papers)
    known = acronyms.definitions(f"{p.title}. {p.abstract}" for p in papers)
    _last_index[:] = [(papers, index, known)]
    return index, known
