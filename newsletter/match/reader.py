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


@dataclass(frozen=True)
class View:
    """One view (vectors or words) of a batch, shared by its readers: each reference paper
    and the background mean projected onto today's papers (whitened when ``inverse`` is
    given), so that a reader's scores are a weighted sum of rows: no product per reader."""

    kernel: np.ndarray  # references x papers
    base: np.ndarray  # papers: the background mean's row


def view(papers: np.ndarray, refs: np.ndarray, mean: np.ndarray,
         inverse: np.ndarray | None) -> View:
    left, centre = (refs, mean) if inverse is None else (refs @ inverse, inverse @ mean)
    return View(np.asarray(left @ papers.T, dtype=np.float32),
                np.asarray(centre @ papers.T, dtype=np.float32))


def raw_scores(
    v: View, rows: list[int], weights: np.ndarray, against: list[int], dislike: float
) -> np.ndarray:
    """Today's papers scored by one reader's direction (``direction``) in view ``v``."""
    out = weights @ v.kernel[rows] / float(weights.sum()) - v.base
    if against and dislike > 0:
        out = out - dislike * (v.kernel[against].mean(axis=0) - v.base)
    return np.asarray(out, dtype=np.float32)


_TERMS: dict[str, tuple[tuple[str, ...], np.ndarray, np.ndarray]] = {}
_TERMS_MAX = 200_000  # papers whose terms are kept between batches


def _paper_terms(paper: Paper) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """A paper's distinct terms, their signed log-scaled counts and their hashed columns."""
    key = f"{paper.key}\n{paper.title}\n{len(paper.abstract)}"
    found = _TERMS.get(key)
    if found is None:
        counts = Counter(terms(paper.abstract))
        for term, n in Counter(terms(paper.title)).items():
            counts[term] += TITLE_WEIGHT * n
        hashes = [zlib.crc32(t.encode("utf-8")) for t in counts]
        weight = np.array([(1.0 if h & WORD_DIM else -1.0) * (1.0 + math.log(n))
                           for h, n in zip(hashes, counts.values(), strict=True)],
                          dtype=np.float32)
        found = (tuple(counts), weight, np.array([h % WORD_DIM for h in hashes], dtype=np.int64))
        if len(_TERMS) >= _TERMS_MAX:
            _TERMS.clear()
        _TERMS[key] = found
    return found


def word_matrix(papers: Sequence[Paper], idf: Callable[[str], float]) -> np.ndarray:
    """Each paper's words (title terms counted ``TITLE_WEIGHT`` times), log-scaled, weighted
    by ``idf`` and hashed into ``WORD_DIM`` signed dimensions; rows of unit length."""
    out = np.zeros((len(papers), WORD_DIM), dtype=np.float32)
    known: dict[str, float] = {}
    for i, paper in enumerate(papers):
        words, weight, columns = _paper_terms(paper)
        for term in words:
            if term not in known:
                known[term] = idf(term)
        scale = np.fromiter((known[t] for t in words), dtype=np.float32, count=len(words))
        np.add.at(out[i], columns, weight * scale)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)
