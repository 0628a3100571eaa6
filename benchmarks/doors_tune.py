"""Choose the doors' parameters (a language model's labels and phrases) on the dev split.

    python benchmarks/doors_tune.py [--split dev] [--top N]

Every setting of a small grid over the knobs that act only with the model's answers
(``fuse.Calibration``'s phrase and expanded-reader fields, ``lexical.LABEL_WEIGHT``) is
judged on the dev held-out profiles with the recorded answers (``llm_replay``): doors and
doors + rerank. The offline line is printed first: it must not move. The objective is the
smaller of the doors' nDCG@10 and strong-recall gains over offline, among settings whose
precision is at least offline's + ``MARGIN``. Never the test split.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass, replace

from llm_replay import (
    RECORDED,
    heldout_profiles,
    heldout_readers,
    judge_with_model,
    recorded_expansion,
    recorded_labels,
)
from match_bench import doors_matcher, judge_heldout, means, readers, seed_papers

from newsletter.config import LlmSettings
from newsletter.llm.contract import Reader
from newsletter.match import fuse as fusion
from newsletter.match import lexical
from newsletter.match import scores as batch
from newsletter.match.evaluate import Graded
from newsletter.models import Paper, normalize_title

MARGIN = 0.01  # precision to keep over offline's (test is noisier than dev)
GRIDS: dict[str, dict[str, tuple[float, ...]]] = {
    "coarse": {  # the weights and bars
        "label_weight": (0.5, 1.0, 2.0),
        "phrase_weight": (0.5, 0.6, 0.7),
        "phrase_bar": (0.0, 0.1),
        "expanded_threshold": (0.35, 0.4, 0.45, 0.5),
        "expanded_relative": (0.5, 0.6, 0.7),
    },
    "fine": {  # the knobs the coarse grid leaves at their defaults (little effect on dev)
        "phrase_weight": (0.6, 0.7),
        "expanded_threshold": (0.4, 0.45),
        "expanded_relative": (0.5, 0.6),
        "phrase_relative": (0.5, 0.7),
        "phrase_gate_low": (0.1, 0.2),
        "phrase_exclude_penalty": (0.0, 0.25, 0.5),
    },
    "local": {  # how steep it is around the choice (not for choosing: not all values are round)
        "label_weight": (1.5, 2.0, 3.0),
        "expanded_threshold": (0.42, 0.45, 0.48),
        "expanded_relative": (0.55, 0.6, 0.65),
    },
}


@dataclass(frozen=True)
class Figures:
    ndcg: float
    precision: float
    recall: float
    delivered: float

    def __str__(self) -> str:
        return (f"{self.ndcg:.3f} / {self.precision:.3f} / {self.recall:.3f} "
                f"(delivered {self.delivered:4.1f})")


def figures(results: list[Graded]) -> Figures:
    ndcg, precision, recall, delivered = means(results)
    return Figures(ndcg, precision or 0.0, recall or 0.0, delivered)


class Dev:
    """The seed papers with and without labels, the held-out readers and their recorded
    phrases. Every held-out reader is matched in one batch, as ``llm_replay.model_results``
    does (the batch the rerank answers were recorded with); only the dev ones are judged."""

    def __init__(self) -> None:
        self.plain = seed_papers()
        self.labelled = recorded_labels(self.plain)
        titles = {normalize_title(p.title): p.title for p in self.plain}
        self.pairs = heldout_readers(titles)
        by_title = {normalize_title(p.title): p for p in self.labelled}
        self.subs, self.feedback, self.refs = readers([p for p, _ in self.pairs], by_title)
        self.expansions = {
            s.email: x for s, (_, r) in zip(self.subs, self.pairs, strict=True)
            if (x := recorded_expansion(r)) is not None
        }

    def offline(self) -> Figures:
        """The offline hybrid matcher, as ``match_bench.py heldout`` judges it."""
        by_title = {normalize_title(p.title): p for p in self.plain}
        dev = [p for p, _ in self.pairs if p["split"] == "dev"]
        return figures([judge_heldout(doors_matcher(), by_title, p) for p in dev])

    def doors(self, cal: fusion.Calibration, label_weight: float) -> tuple[Figures, Figures, int]:
        """Doors, doors + rerank (recorded scores of the best 30), readers without scores."""
        matcher = doors_matcher()
        matcher.cal = cal
        kept, lexical.LABEL_WEIGHT = lexical.LABEL_WEIGHT, label_weight
        batch._last_index.clear()  # the index is reused while the papers are equal
        try:
            picks, candidates = matcher.rank_many(
                self.subs, self.labelled, None, self.feedback, self.refs, self.expansions, (0, 30)
            )
        finally:
            lexical.LABEL_WEIGHT = kept
            batch._last_index.clear()
        chosen = [(p, r, s) for (p, r), s in zip(self.pairs, self.subs, strict=True)
                  if p["split"] == "dev"]
        doors, both, fallback = judge_with_model(
            chosen, picks, candidates, recorded_scores, LlmSettings().rerank_cut
        )
        return figures(doors), figures(both), fallback


def recorded_scores(reader: Reader, papers: list[Paper]) -> dict[str, int] | None:
    """The recorded rerank score of each candidate, read directly (no loopback server, for
    speed over a grid); None when any candidate has none."""
    found = {p.key: RECORDED.score(reader, p.title) for p in papers}
    scores = {k: v for k, v in found.items() if v is not None}
    return scores if len(scores) == len(found) else None


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--split", default="dev")
    cli.add_argument("--top", type=int, default=10, help="settings shown best first")
    cli.add_argument("--grid", choices=list(GRIDS), default="coarse")
    args = cli.parse_args()
    if args.split != "dev":
        sys.exit("doors_tune chooses parameters, so it runs on the dev split only")
    assert all(p["split"] in ("dev", "test") for p in heldout_profiles())
    dev = Dev()
    base = dev.offline()
    print(f"offline (hybrid, batch): {base}")
    now, now_rr, _ = dev.doors(fusion.DEFAULT, lexical.LABEL_WEIGHT)
    print(f"doors now: {now}   + rerank {now_rr}")
    grid = GRIDS[args.grid]
    names = list(grid)
    rows = []
    for values in itertools.product(*grid.values()):
        setting = dict(zip(names, values, strict=True))
        label_weight = setting.pop("label_weight", lexical.LABEL_WEIGHT)
        cal = replace(fusion.DEFAULT, **setting)
        doors, both, fallback = dev.doors(cal, label_weight)
        gain = min(doors.ndcg - base.ndcg, doors.recall - base.recall)
        ok = doors.precision >= base.precision + MARGIN
        rows.append((ok, gain, values, doors, both, fallback))
        print(f"  {' '.join(f'{n}={v}' for n, v in zip(names, values, strict=True))}: "
              f"doors {doors}  rerank {both}  fallback {fallback}"
              f"  gain {gain:+.3f}{'' if ok else '  (precision too low)'}", flush=True)
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    print(f"\nbest {args.top} (precision >= offline + {MARGIN} first, then min gain):")
    for ok, gain, values, doors, both, fallback in rows[: args.top]:
        print(f"  {' '.join(f'{n}={v}' for n, v in zip(names, values, strict=True))}: "
              f"doors {doors}  rerank {both} ({fallback} fallback)  gain {gain:+.3f}"
              f"{'' if ok else '  (precision too low)'}")


if __name__ == "__main__":
    main()
