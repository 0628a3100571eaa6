"""A per-reader model learned from the papers a reader gave: liked, library, picked, disliked.

The model is linear, over two views of a paper: its sentence vector and its words (IDF-weighted
terms hashed into a fixed number of dimensions). In each view its weight vector is the direction
from today's papers (the background, every reader's shared negative class) towards the mean of
the reader's positives, and away from their "less like this" papers, whitened by today's
papers' shrunk covariance: a linear discriminant with a shared covariance, in closed form (one
inversion per batch of readers, matrix-vector products per reader), so it scores what the
reader's papers share rather than the nearest neighbour of any one of them. Each view's scores
are read on the reader's own scale (standard scores over today's papers) and mixed.
Positives weigh more when recent, when their dates are known.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from newsletter.match.words import terms
from newsletter.models import Paper

_ARXIV_MONTH = re.compile(r"^(\d{2})(\d{2})\.\d{4,5}")
WORD_DIM = 1024  # hashed word features per paper
TITLE_WEIGHT = 3  # a title's term counts as this many of the abstract's


@dataclass(frozen=True)
class ReaderParams:
    """The model's parameters; chosen on the held-out dev split (benchmarks/match_bench.py)."""

    shrink: float = 1.0  # the covariance's pull towards a multiple of the identity (1: all)
    words: float = 0.3  # the word view's share of the reader's score (the rest: vectors)
    dislike: float = 0.5  # how far a "less like this" paper pushes the direction away
    half_life: float = 2.0  # years: a library entry this much older than the newest counts half
    cut: float = 1.5  # the score (in standard deviations over today's papers) that delivers
    relative: float = 0.0  # ... and this share of the reader's positives' own mean score
    blend: float = 0.0  # with topics too: the model's share of the score (0: the better one)
    lean: float = 0.0  # with topics too: topic scores times 1 + lean x the model's score
    topic_cut: float = math.inf  # with topics too: the model's score that delivers by itself
    low: float = 0.5  # where the score starts to count beside topic scores (0 to 1) ...
    high: float = 2.5  # ... and where it counts fully
    floor: float = 0.5  # the score a paper needs to fill an otherwise thin issue
    least: int = 2  # an issue of a reader with positives holds at least this many, floor allowing


DEFAULT_PARAMS = ReaderParams()


@dataclass(frozen=True)
class Background:
    """Today's papers as the negative class every reader shares."""

    mean: np.ndarray  # (dim,)
    inverse: np.ndarray  # (dim, dim): the inverse of the shrunk covariance


def background(vectors: np.ndarray, shrink: float) -> Background:
    """The background of ``vectors`` (papers x dim): mean and inverse shrunk covariance."""
    dim = vectors.shape[1]
    mean = vectors.mean(axis=0) if len(vectors) else np.zeros(dim, dtype=np.float32)
    centred = vectors - mean
    cov = centred.T @ centred / max(len(vectors), 1)
    scale = float(np.trace(cov)) / dim or 1.0
    shrunk = (1.0 - shrink) * cov + shrink * scale * np.eye(dim, dtype=cov.dtype)
    return Background(mean.astype(np.float32), np.linalg.inv(shrunk).astype(np.float32))


def published(paper: Paper) -> date | None:
    """When a paper came out: its date, else the month of its new-style arXiv id."""
    if paper.published:
        return paper.published
    found = _ARXIV_MONTH.match(paper.arxiv_id or "")
    if found and 1 <= int(found.group(2)) <= 12:
        return date(2000 + int(found.group(1)), int(found.group(2)), 1)
    return None


def recency(papers: Sequence[Paper], half_life: float) -> np.ndarray:
    """A weight per paper: 1 for the newest dated one, halving every ``half_life`` years
    older; papers of unknown date weigh as the dated ones do on average (1 when none is)."""
    dates = [published(p) for p in papers]
    known = [d for d in dates if d is not None]
    if not known or half_life <= 0:
        return np.ones(len(papers), dtype=np.float32)
    newest = max(known)
    weights = {d: 0.5 ** ((newest - d).days / 365.25 / half_life) for d in known}
    typical = float(np.mean(list(weights.values())))
    return np.array([weights[d] if d else typical for d in dates], dtype=np.float32)


def direction(
    mean: np.ndarray,
    inverse: np.ndarray | None,
    positives: np.ndarray,
    weights: np.ndarray,
    negatives: np.ndarray,
    dislike: float,
) -> np.ndarray:
    """The reader's weight vector in one view: from the background ``mean`` towards their
    positives' weighted mean, away from their negatives', whitened by ``inverse`` if given."""
    target = weights @ positives / float(weights.sum()) - mean
    if len(negatives) and dislike > 0:
        target = target - dislike * (negatives.mean(axis=0) - mean)
    w = target if inverse is None else inverse @ target
    return np.asarray(w, dtype=np.float32)


def standard(
    raw: np.ndarray, also: np.ndarray, among: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Scores as standard scores over today's papers (``among`` them only, if given: the
    reader's own papers aside), the reader's own scale, and ``also`` (their positives'
    scores) on the same scale."""
    base = raw if among is None else raw[among]
    sd = float(base.std()) if len(base) > 1 else 0.0
    if sd <= 1e-9:
        return np.zeros_like(raw, dtype=np.float32), np.zeros_like(also, dtype=np.float32)
    mean = float(base.mean())
    return (np.asarray((raw - mean) / sd, dtype=np.float32),
            np.asarray((also - mean) / sd, dtype=np.float32))


def word_matrix(papers: Sequence[Paper], idf: Callable[[str], float]) -> np.ndarray:
    """Each paper's words (title terms counted ``TITLE_WEIGHT`` times), log-scaled, weighted
    by ``idf`` and hashed into ``WORD_DIM`` signed dimensions; rows of unit length."""
    out = np.zeros((len(papers), WORD_DIM), dtype=np.float32)
    for i, paper in enumerate(papers):
        counts = Counter(terms(paper.abstract))
        for term, n in Counter(terms(paper.title)).items():
            counts[term] += TITLE_WEIGHT * n
        for term, n in counts.items():
            h = zlib.crc32(term.encode("utf-8"))
            sign = 1.0 if h & WORD_DIM else -1.0
            out[i, h % WORD_DIM] += sign * (1.0 + math.log(n)) * idf(term)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)
