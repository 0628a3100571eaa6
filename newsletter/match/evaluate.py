"""Ranking quality of delivered lists against graded judgments: nDCG@k, precision, recall.

The development sets grade 0, 1 or 2; the held-out set averages two graders (0 to 2 in halves).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Quality:
    """One delivered list judged: nDCG@k, precision (None for an empty list), misses."""

    ndcg: float
    precision: float | None
    delivered: int
    missed_strong: int  # grade-2 papers that fit in the top k but were not delivered


RELEVANT = 1.0  # an averaged grade that counts as relevant for precision
STRONG = 1.5  # an averaged grade that counts as a must-read for strong recall


def ndcg_at_k(delivered: Sequence[str], grades: Mapping[str, float], k: int = 10) -> float:
    """nDCG of the delivered keys; an empty list is perfect only when nothing is relevant."""
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    if not ideal:
        return 1.0 if not delivered else 0.0
    dcg = sum(
        (2 ** grades.get(key, 0) - 1) / math.log2(rank + 2)
        for rank, key in enumerate(delivered[:k])
    )
    best = sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return float(dcg / best)


def judge(delivered: Sequence[str], grades: Mapping[str, int], k: int = 10) -> Quality:
    top = list(delivered[:k])
    relevant = sum(1 for key in top if grades.get(key, 0) > 0)
    strong = [key for key, g in grades.items() if g == 2]
    missed = len(set(strong) - set(top)) if len(strong) <= k else 0
    return Quality(
        ndcg=ndcg_at_k(top, grades, k),
        precision=relevant / len(top) if top else None,
        delivered=len(top),
        missed_strong=missed,
    )


def mean_quality(results: Sequence[Quality]) -> tuple[float, float, int]:
    """Mean nDCG, mean precision over non-empty lists, and total strong misses."""
    ndcg = sum(q.ndcg for q in results) / max(len(results), 1)
    precisions = [q.precision for q in results if q.precision is not None]
    precision = sum(precisions) / len(precisions) if precisions else 1.0
    return ndcg, precision, sum(q.missed_strong for q in results)


@dataclass(frozen=True)
class Graded:
    """One delivered list judged against averaged grades (0 to 2 in steps of 0.5)."""

    ndcg: float
    precision: float | None  # share graded >= RELEVANT; None for an empty list
    recall: float | None  # strong recall; None when no paper is graded >= STRONG
    delivered: int
    empty_miss: bool  # nothing delivered although some paper is graded >= RELEVANT


def delivered_precision(
    delivered: Sequence[str], grades: Mapping[str, float], k: int = 10
) -> float | None:
    """Share of the delivered top ``k`` graded at least RELEVANT; None when nothing is delivered."""
    top = delivered[:k]
    if not top:
        return None
    return sum(1 for key in top if grades.get(key, 0.0) >= RELEVANT) / len(top)


def strong_recall(
    delivered: Sequence[str], grades: Mapping[str, float], k: int = 10
) -> float | None:
    """Papers graded at least STRONG found in the top ``k``, out of min(k, their number)."""
    strong = {key for key, g in grades.items() if g >= STRONG}
    if not strong:
        return None
    return len(strong & set(delivered[:k])) / min(k, len(strong))


def judge_graded(delivered: Sequence[str], grades: Mapping[str, float], k: int = 10) -> Graded:
    top = list(delivered[:k])
    return Graded(
        ndcg=ndcg_at_k(top, grades, k),
        precision=delivered_precision(top, grades, k),
        recall=strong_recall(top, grades, k),
        delivered=len(top),
        empty_miss=not top and any(g >= RELEVANT for g in grades.values()),
    )


def mean_of(values: Iterable[float | None]) -> float | None:
    """The mean of the values that are not None; None when there are none."""
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None
