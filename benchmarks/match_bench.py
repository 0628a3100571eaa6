"""Match benchmark: quality on the hand-labelled set, and speed at 10,000 x 1,000.

    python benchmarks/match_bench.py quality      # nDCG@10 / precision, with and without embeddings
    python benchmarks/match_bench.py speed        # 10k subscribers x 1k papers; embed 1k abstracts
    python benchmarks/match_bench.py scoring      # the 10k x 1k scoring alone, stand-in vectors
    python benchmarks/match_bench.py              # both

Seeds are read from $NEWSLETTER_SEEDS or ../shared/seeds next to the repository.

Figures measured 2026-11-23 on the shared 2-core build machine (load average 3-7 from other jobs).
Quality, mean over profiles x 185 seed papers; precision is that of the delivered list:
                    dev1 (13 profiles)          dev2 (10 profiles)          union
  before (threshold 0.30, no profile context):
    hybrid          nDCG 0.917 prec 0.869 4 miss  nDCG 0.877 prec 0.784 2 miss  0.900 / 0.830
    lexical only    nDCG 0.812 prec 0.871 14 miss nDCG 0.697 prec 0.769 11 miss 0.762 / 0.827
  now (profile context, second-topic bonus, threshold 0.35):
    hybrid          nDCG 0.919 prec 0.919 4 miss  nDCG 0.903 prec 0.940 2 miss  0.912 / 0.929
    lexical only    nDCG 0.825 prec 0.855 13 miss nDCG 0.730 prec 0.757 8 miss  0.784 / 0.813
Speed (embedding code unchanged since the first figures; the second run shared the machine
with other jobs that left the model about one core):
    embed 1,000 new abstracts                         52 s wall (81 s CPU); 116 s on one core
    score + select 10,000 subscribers x 1,000 papers  5.8 s wall (5.8 s CPU), target <= 20 s
    embed 23,908 distinct topic phrases (once each)   38 s wall (73 s CPU); 190 s on one core
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import zlib
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

from newsletter.config import MatchSettings
from newsletter.match import Matcher, MemoryCache, load_embedder
from newsletter.match.evaluate import Quality, judge, mean_quality
from newsletter.models import Paper, Subscriber, normalize_title
from newsletter.sources.base import ParseContext
from newsletter.sources.text import parse

ROOT = Path(__file__).resolve().parents[1]
RELEVANCE = ROOT / "tests" / "data" / "relevance"
SETS = {"dev1": RELEVANCE / "judgments.json", "dev2": RELEVANCE / "judgments_dev2.json"}


def seed_papers() -> list[Paper]:
    folder = Path(os.environ.get("NEWSLETTER_SEEDS", ROOT.parent / "shared" / "seeds"))
    found: dict[str, Paper] = {}
    for path in sorted(folder.glob("*.txt")):
        page = parse(path.read_bytes(), ParseContext(origin=str(path), today=date.today()))
        for paper in page.papers:
            found.setdefault(paper.key, paper)
    if not found:
        sys.exit(f"no seed pages found in {folder}")
    return list(found.values())


def judge_set(matcher: Matcher, papers: list[Paper], path: Path, verbose: bool) -> list[Quality]:
    profiles = json.loads(path.read_text(encoding="utf-8"))["profiles"]
    results: list[Quality] = []
    for profile in profiles:
        sub = Subscriber(
            email=f"{profile['id']}@example.org",
            topics=tuple(profile["topics"]),
            exclude=tuple(profile["exclude"]),
        )
        picks = matcher.match(sub, papers)
        q = judge([normalize_title(p.paper.title) for p in picks], profile["judgments"])
        results.append(q)
        if verbose:
            prec = "  -  " if q.precision is None else f"{q.precision:.2f}"
            print(
                f"  {profile['id']:20s} nDCG@10 {q.ndcg:.3f}  precision {prec}  "
                f"delivered {q.delivered:2d}  strong missed {q.missed_strong}"
            )
    return results


def summary(label: str, results: list[Quality]) -> None:
    ndcg, precision, missed = mean_quality(results)
    print(f"  {label:10s} MEAN nDCG@10 {ndcg:.3f}  precision {precision:.3f}  ", end="")
    print(f"strong missed {missed}")


def run_quality(verbose: bool = True) -> None:
    papers = seed_papers()
    cache = MemoryCache()
    for label, semantic in (("hybrid (lexical + embeddings)", True), ("lexical only", False)):
        matcher = Matcher.from_settings(MatchSettings(semantic=semantic), cache)
        if semantic and not matcher.semantic:
            print(f"{label}: skipped, the [semantic] extra is not installed")
            continue
        print(f"{label}, {len(papers)} papers:")
        every: list[Quality] = []
        for name, path in SETS.items():
            results = judge_set(matcher, papers, path, verbose)
            summary(name, results)
            every += results
        summary("union", every)
        print()


def synthetic(
    papers: list[Paper], n_papers: int, n_subs: int
) -> tuple[list[Paper], list[Subscriber]]:
    """Seed papers varied into ``n_papers`` distinct ones, and topic-bearing subscribers."""
    rng = random.Random(7)
    many = [
        Paper(title=f"{p.title} ({i})", abstract=p.abstract, arxiv_id=f"9{i:03d}.{i:05d}")
        for i, p in ((i, papers[i % len(papers)]) for i in range(n_papers))
    ]
    vocabulary = sorted({w for p in papers for w in p.title.lower().split() if len(w) > 4})
    subs = []
    for i in range(n_subs):
        topics = tuple(
            " ".join(rng.sample(vocabulary, rng.randint(1, 3))) for _ in range(rng.randint(2, 5))
        )
        subs.append(
            Subscriber(
                email=f"s{i}@example.org",
                topics=topics,
                exclude=(rng.choice(vocabulary),) if i % 4 == 0 else (),
            )
        )
    return many, subs


def timed(label: str, start: tuple[float, float]) -> None:
    """Print wall time and process CPU time (the fair figure on a shared, busy machine)."""
    wall, cpu = time.perf_counter() - start[0], time.process_time() - start[1]
    print(
        f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU ({os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f})"
    )


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


class RandomEmbedder:
    """Stand-in vectors (384-d, fixed per text) for timing the scoring alone, not its quality."""

    name = "random-384"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        rows = [np.random.default_rng(zlib.crc32(t.encode())).normal(size=384) for t in texts]
        out = np.array(rows, dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def run_speed(embed_abstracts: bool = True) -> None:
    """Timings; ``embed_abstracts=False`` swaps the model for stand-in vectors (scoring only)."""
    papers, subs = synthetic(seed_papers(), 1000, 10_000)
    embedder = load_embedder() if embed_abstracts else RandomEmbedder()
    cache = MemoryCache()
    if embedder is not None:
        start = clock()
        matcher = Matcher(MatchSettings(), embedder, cache)
        matcher.score([], papers, {}, {})  # embeds the 1,000 abstracts into the cache
        stand_in = "" if embed_abstracts else " (stand-in vectors)"
        timed(f"embed 1,000 new abstracts{stand_in}", start)
        phrases = {t for s in subs for t in (*s.topics, *s.exclude)}
        start = clock()
        matcher.score(subs, papers[:1], {}, {})
        timed(f"embed {len(phrases):,} distinct topic phrases{stand_in}", start)
    else:
        matcher = Matcher(MatchSettings(semantic=False), None, cache)
        print("embeddings skipped: the [semantic] extra is not installed")
    start = clock()
    picks = matcher.match_many(subs, papers)
    timed("score + select 10,000 subscribers x 1,000 papers", start)
    sizes = np.array([len(v) for v in picks.values()])
    print(f"picks per subscriber: mean {sizes.mean():.1f}, empty lists {int((sizes == 0).sum())}")


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which in ("quality", "all"):
        run_quality()
    if which in ("speed", "all"):
        run_speed()
    if which == "scoring":
        run_speed(embed_abstracts=False)
