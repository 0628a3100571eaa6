"""How far the ranking itself is from the held-out goal, whatever the cut (dev split by default).

    python benchmarks/match_ceiling.py [--split dev|test] [--model FOLDER ...]

For the default settings it prints, over the held-out profiles of the split:
  delivered         the lists readers get (threshold 0.3), as ``match_bench.py heldout``
  no cut            always the top 10 (threshold 0)
  best cut          each profile's top 10 cut at the length that is best for that profile,
                    chosen with its own grades: a ceiling for any cut of this ranking, not a
                    method (no rule that sees only scores can do better)
  embeddings alone  the top 10 by best cosine to a topic or liked paper, no words, no
                    excludes: the packaged model, then each ``--model`` folder (a local
                    sentence-transformers model; models that need prompts are refused)

Seeds are read as by ``match_bench.py``. Figures are nDCG@10 / delivered precision / strong
recall, means over profiles, as everywhere in the relevance benchmarks.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

import numpy as np
from match_bench import HELDOUT, graded_summary, grades, readers, seed_papers

from newsletter.config import MatchSettings
from newsletter.match import Matcher, MemoryCache, load_embedder
from newsletter.match.evaluate import Graded, judge_graded
from newsletter.match.semantic import Embedder, embed_papers, embed_phrases
from newsletter.models import Paper, normalize_title


def best_cut(ranked: list[str], profile_grades: dict[str, float]) -> Graded:
    """The judged top-10 prefix of ``ranked`` whose mean of the three figures is highest."""

    def worth(q: Graded) -> float:
        known = [x for x in (q.ndcg, q.precision, q.recall) if x is not None]
        return sum(known) / len(known)

    prefixes = [judge_graded(ranked[:k], profile_grades) for k in range(11)]
    return max(prefixes, key=worth)


def by_embeddings(
    embedder: Embedder, group: list[dict[str, Any]], by_title: dict[str, Paper]
) -> list[Graded]:
    """Each profile's top 10 by its best cosine to a topic or liked paper."""
    keys = list(by_title)
    cache = MemoryCache()
    vectors = embed_papers(embedder, [by_title[k] for k in keys], cache)
    out = []
    for profile in group:
        best = np.full(len(keys), -1.0, dtype=np.float32)
        if profile["topics"]:
            best = (embed_phrases(embedder, profile["topics"], cache) @ vectors.T).max(axis=0)
        for key in profile["liked"]:
            best = np.maximum(best, vectors @ vectors[keys.index(key)])
        ranked = [keys[i] for i in np.argsort(-best) if keys[i] not in profile["liked"]]
        out.append(judge_graded(ranked[:10], grades(profile)))
    return out


def main(split: str, models: list[str]) -> None:
    by_title = {normalize_title(p.title): p for p in seed_papers()}
    group = [
        p
        for p in json.loads(HELDOUT.read_text(encoding="utf-8"))["profiles"]
        if p["split"] == split
    ]
    embedder = load_embedder()
    if embedder is None:
        raise SystemExit("the ceiling needs the sentence model: run `newsletter model install`")
    subs, feedback, references = readers(group, by_title)
    cache, papers = MemoryCache(), list(by_title.values())
    print(f"{split} split, {len(group)} profiles x {len(papers)} papers:")
    ranked: list[list[str]] = []
    for label, settings in (
        ("delivered", MatchSettings()),
        ("no cut", replace(MatchSettings(), threshold=0.0, relative=0.0)),
    ):
        picks = Matcher(settings, embedder, cache).match_many(
            subs, papers, None, feedback, references
        )
        ranked = [[normalize_title(x.paper.title) for x in picks[s.email]] for s in subs]
        graded_summary(
            label, [judge_graded(r, grades(p)) for r, p in zip(ranked, group, strict=True)]
        )
    # ``ranked`` is now the uncut top 10.
    graded_summary("best cut", [best_cut(r, grades(p)) for r, p in zip(ranked, group, strict=True)])
    for model in ["", *models]:
        found = load_embedder(model)
        assert found is not None
        graded_summary(f"embeddings alone, {found.name}", by_embeddings(found, group, by_title))


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--split", choices=["dev", "test"], default="dev")
    cli.add_argument("--model", action="append", default=[], help="another local model folder")
    args = cli.parse_args()
    main(args.split, args.model)
