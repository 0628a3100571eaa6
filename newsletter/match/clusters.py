"""Deterministic k-means over unit vectors, and one representative per cluster: papers spread
across a collection's topics (the "pick papers you would read" step)."""

from __future__ import annotations

import numpy as np

ROUNDS = 25


def kmeans(vectors: np.ndarray, k: int, rounds: int = ROUNDS) -> np.ndarray:
    """A cluster label per row of ``vectors``; the same input gives the same labels.

    Seeds are chosen farthest-first (the row nearest the mean, then each time the row farthest
    from every seed so far), then Lloyd's rounds refine them."""
    n = len(vectors)
    k = min(k, n)
    if k <= 0:
        return np.zeros(n, dtype=np.int64)
    first = int(np.argmin(((vectors - vectors.mean(axis=0)) ** 2).sum(axis=1)))
    seeds = [first]
    nearest = ((vectors - vectors[first]) ** 2).sum(axis=1)
    for _ in range(1, k):
        seeds.append(int(np.argmax(nearest)))
        nearest = np.minimum(nearest, ((vectors - vectors[seeds[-1]]) ** 2).sum(axis=1))
    centres = vectors[seeds].astype(np.float64)
    labels = np.full(n, -1, dtype=np.int64)
    for _ in range(rounds):
        distance = (vectors**2).sum(axis=1)[:, None] - 2 * vectors @ centres.T
        distance += (centres**2).sum(axis=1)[None, :]
        fresh = np.argmin(distance, axis=1)
        if np.array_equal(fresh, labels):
            break
        labels = fresh
        for c in range(k):
            members = vectors[labels == c]
            if len(members):
                centres[c] = members.mean(axis=0)
    return labels


def representatives(vectors: np.ndarray, k: int) -> list[int]:
    """One row per cluster of ``vectors`` (the one nearest its cluster's centre), largest
    cluster first; ties go to the earlier row."""
    labels = kmeans(vectors, k)
    out: list[tuple[int, int]] = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        centre = vectors[rows].mean(axis=0)
        best = rows[int(np.argmin(((vectors[rows] - centre) ** 2).sum(axis=1)))]
        out.append((-len(rows), int(best)))
    return [row for _, row in sorted(out)]
