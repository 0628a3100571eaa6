"""Ranking quality of delivered lists against graded judgments (0, 1, 2): nDCG@k, precision."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Quality:
    """One delivered list judged: nDCG@k, precision (None for an empty list), misses."""

    ndcg: float
    precision: float | None
    delivered: int
    missed_strong: int  # grade-2 papers that fit in the top k but were not delivered


def ndcg_at_k(delivered: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
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
