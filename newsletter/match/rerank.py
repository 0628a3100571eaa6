"""A reader's issue from a language model's 0-10 scores of their best candidates: the papers
scoring at least the cut, best first (ties by the local score), each saying the model judged
it. Papers by a followed author stay in whatever the model says. Pure: the scores are asked
for and kept elsewhere (``app``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from newsletter.match.select import FOLLOWED
from newsletter.models import Pick


def reranked(
    candidates: Sequence[Pick], scores: Mapping[str, int], cut: int, most: int
) -> list[Pick]:
    """The candidates the model scored at ``cut`` or more (and followed authors' papers),
    ordered by the model's score, at most ``most``."""
    kept = [
        (scores.get(c.paper.key, -1), n, c) for n, c in enumerate(candidates)
        if scores.get(c.paper.key, -1) >= cut or _followed(c)
    ]
    kept.sort(key=lambda item: (-item[0], -item[2].score, item[1]))
    return [_judged(c, s) for s, _, c in kept[:most]]


def _followed(pick: Pick) -> bool:
    return any(r.startswith(FOLLOWED) for r in pick.reasons)


def _judged(pick: Pick, score: int) -> Pick:
    if score < 0:
        return pick
    return replace(pick, reasons=(f"a language model rates it {score}/10 for you",
                                  *pick.reasons))
