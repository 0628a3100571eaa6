"""Language model client benchmark: how long a run waits on the model, through the loopback fake.

    python benchmarks/llm_bench.py label [--papers 1000] [--latency 0.2] [--concurrency N]
        field labels for N papers from a server answering each request in 200 ms
        (goal: 1,000 papers in at most 60 s at the default concurrency)
    python benchmarks/llm_bench.py rerank [--readers 10000] [--latency 0.5] [--concurrency N]
        each reader's 30 candidates scored by a server answering in 500 ms
        (goal: 10,000 readers in at most 6 minutes)
    python benchmarks/llm_bench.py            # both

The fake (tests/llm_fake.py) runs in this process and answers synthetic requests through a
responder; the budget is lifted so that only the concurrency bounds the run (the default
``[llm]`` budget of 5,000 requests and 300 s would skip half of 10,000 rerank requests).

Figures measured 2026-12-07 on the shared 2-core machine (load average 5-6 from other jobs):
    label  1,000 papers, 200 ms a reply, concurrency 8 (the default):   25.5 s, goal 60 s
           the same at concurrency 4 (the default before):              50.9 s
    rerank 10,000 readers x 30 candidates, 500 ms a reply, 16 at once: 315.9 s, goal 360 s
           (latency alone: 312.5 s; 14 at once is the floor, 357 s of latency alone)
    peak RSS 59 MB for the rerank run, the fake included; the client adds about 3 ms a
    request to the server's latency
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.llm_fake

from newsletter.config import LlmSettings
from newsletter.llm.budget import Budget
from newsletter.llm.client import ChatClient, Failure
from newsletter.llm.contract import (
    Reader,
    Request,
    paper_request,
    read_paper_fields,
    rerank_parts,
    rerank_reader,
    rerank_request,
)
from newsletter.models import Paper
from tests.llm_fake import LlmFake

WORDS = ["sparse", "attention", "graph", "neural", "network", "diffusion", "policy", "protein",
         "folding", "exoplanet", "transit", "spiking", "neuron", "reinforcement", "learning",
         "benchmark", "retrieval", "generation", "robot", "grasping", "causal", "inference"]
UNLIMITED = Budget(10**9, 10**12, 86_400)
RERANK_CONCURRENCY = 16  # 10,000 replies of 0.5 s in 360 s need 14 in flight at the least
GOALS = {"label": 60.0, "rerank": 360.0}  # seconds, at 1,000 papers and 10,000 readers


def synthetic_papers(n: int, rng: random.Random) -> list[Paper]:
    """Papers with a ten-word title and a 1,200-character abstract, as the seeds have."""
    def words(k: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(k))

    return [Paper(title=f"{words(10)} {i}", abstract=words(170)[:1200]) for i in range(n)]


def answer(request: Request) -> dict[str, Any]:
    if request.use == "reader_rerank":
        _, titles = rerank_parts(request.user)
        return {"scores": [len(t) % 11 for t in titles]}
    return {"fields": ["computer science", "machine learning (ML)", "graph neural networks"],
            "summary": "A method that labels a paper, for a benchmark."}


def timed(
    settings: LlmSettings, asks: Iterable[tuple[Request, Callable[[str], Any]]]
) -> tuple[float, int, int]:
    """Seconds to ask everything, answers, and the process's peak resident MB so far."""
    started = time.monotonic()
    with ChatClient(settings, budget=UNLIMITED) as client:
        found = client.ask_each(asks)
    took = time.monotonic() - started
    answered = sum(not isinstance(v, Failure) for v in found.values())
    return took, answered, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def verdict(part: str, took: float, as_goal: bool) -> str:
    """Against the goal, when run as the goal says (its size and its latency)."""
    if not as_goal:
        return ""
    return f"; goal {GOALS[part]:.0f} s {'met' if took <= GOALS[part] else 'NOT met'}"


def label(papers: int, latency: float, concurrency: int | None) -> None:
    rng = random.Random(1)
    asks = [(paper_request(p), read_paper_fields) for p in synthetic_papers(papers, rng)]
    with LlmFake(answer, keep=False) as fake:
        fake.latency = latency
        settings = fake.settings(**({"concurrency": concurrency} if concurrency else {}))
        took, answered, peak = timed(settings, asks)
    floor = papers * latency / settings.concurrency
    print(f"label  {papers:,} papers, {latency * 1000:.0f} ms a reply, concurrency "
          f"{settings.concurrency}: {took:.1f} s ({answered:,} answered; {papers / took:.1f}/s; "
          f"latency alone {floor:.1f} s; peak RSS {peak} MB"
          f"{verdict('label', took, (papers, latency) == (1000, 0.2))})")


def rerank(readers: int, latency: float, concurrency: int | None, candidates: int) -> None:
    rng = random.Random(2)
    pool = synthetic_papers(1000, rng)

    def asks() -> Iterator[tuple[Request, Callable[[str], Any]]]:
        """Each reader's request, made as the client reads it (30 candidates: about 20 KB)."""
        for i in range(readers):
            topics = (f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}",
                      f"{rng.choice(WORDS)} {rng.choice(WORDS)}")
            yield (rerank_request(Reader(topics), rng.sample(pool, candidates)),
                   rerank_reader(candidates))

    with LlmFake(answer, keep=False) as fake:
        fake.latency = latency
        settings = fake.settings(concurrency=concurrency or RERANK_CONCURRENCY)
        took, answered, peak = timed(settings, asks())
    floor = readers * latency / settings.concurrency
    print(f"rerank {readers:,} readers x {candidates} candidates, {latency * 1000:.0f} ms a reply, "
          f"concurrency {settings.concurrency}: {took:.1f} s ({answered:,} answered; "
          f"{readers / took:.1f}/s; latency alone {floor:.1f} s; peak RSS {peak} MB"
          f"{verdict('rerank', took, (readers, latency) == (10_000, 0.5))})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", nargs="?", choices=("label", "rerank", "both"), default="both")
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--readers", type=int, default=10_000)
    parser.add_argument("--candidates", type=int, default=LlmSettings().rerank_candidates)
    parser.add_argument("--latency", type=float, help="seconds a reply (0.2 label, 0.5 rerank)")
    parser.add_argument("--concurrency", type=int,
                        help=f"label: [llm] concurrency's default; rerank: {RERANK_CONCURRENCY}")
    args = parser.parse_args()
    if args.part in ("label", "both"):
        label(args.papers, 0.2 if args.latency is None else args.latency, args.concurrency)
    if args.part in ("rerank", "both"):
        rerank(args.readers, 0.5 if args.latency is None else args.latency, args.concurrency,
               args.candidates)


if __name__ == "__main__":
    main()
