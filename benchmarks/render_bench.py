"""Render 10,000 personalized issues (HTML + text) and print issues per second on one core.

The MJML compile is included once (a cold cache at the start), as in a real run.
Usage: python benchmarks/render_bench.py [--issues N] [--papers-per-issue K] [--sections]
(``--sections``: each reader's papers spread over their three topics, an issue in sections)
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date

from newsletter.config import EmailSettings, NewsletterSettings
from newsletter.models import Issue, IssueLinks, Paper, Pick, Subscriber
from newsletter.render import Renderer, mjml

TOPICS = ["brain decoding", "exoplanets", "learning theory", "social media", "fMRI", "LLM agents"]
BASE = "https://digest.example.org"


def make_papers(n: int, rng: random.Random) -> list[Paper]:
    words = [
        "model",
        "decoding",
        "planet",
        "bound",
        "neural",
        "data",
        "graph",
        "signal",
        "theory",
        "speech",
        "network",
    ]
    return [
        Paper(
            title=" ".join(rng.choices(words, k=rng.randint(6, 16))).capitalize(),
            abstract=". ".join(" ".join(rng.choices(words, k=14)) for _ in range(8)) + ".",
            arxiv_id=f"2603.{10000 + i}",
            authors=tuple(f"Author {j}" for j in range(rng.randint(1, 9))),
            published=date(2026, 3, 1 + i % 28),
            upvotes=rng.randint(0, 200) or None,
        )
        for i in range(n)
    ]


def make_issue(
    i: int, papers: list[Paper], k: int, rng: random.Random, sections: bool = False
) -> tuple[Issue, IssueLinks]:
    topics = tuple(rng.sample(TOPICS, 3))
    sub = Subscriber(email=f"reader{i}@example.org", topics=topics, name=f"Reader {i}")
    chosen = rng.sample(papers, k)
    picks = tuple(
        Pick(p, 0.9, (f"matched '{topics[0]}' in the abstract",), (topics[0],),
             via="topic" if sections else "", topic=topics[n % 3] if sections else "")
        for n, p in enumerate(chosen)
    )
    links = IssueLinks(
        unsubscribe=f"{BASE}/u?t={i:08x}",
        preferences=f"{BASE}/p?t={i:08x}",
        more_like={p.key: f"{BASE}/f?t={i:08x}&k={p.key}&v=1" for p in chosen},
        less_like={p.key: f"{BASE}/f?t={i:08x}&k={p.key}&v=-1" for p in chosen},
    )
    return Issue(sub, date(2026, 11, 23), picks), links


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--papers-per-issue", type=int, default=10)
    parser.add_argument("--sections", action="store_true", help="issues in sections")
    args = parser.parse_args()
    rng = random.Random(7)
    papers = make_papers(300, rng)
    work = [make_issue(i, papers, args.papers_per_issue, rng, args.sections)
            for i in range(args.issues)]
    mjml.clear_cache()
    settings = NewsletterSettings(postal_address="12 Example Street, Berlin")
    start = time.process_time()
    renderer = Renderer(settings, EmailSettings(), None)
    compiled = time.process_time()
    size = 0
    for issue, links in work:
        out = renderer.render(issue, links)
        assert out is not None
        size += len(out.html) + len(out.text)
    end = time.process_time()
    rate = args.issues / (end - start)
    print(f"templates loaded + MJML compiled once: {1000 * (compiled - start):.1f} ms")
    print(f"{args.issues} issues x {args.papers_per_issue} papers: {end - start:.2f} s CPU")
    print(f"throughput: {rate:,.0f} issues/s per core (target >= 2,000)")
    per_issue = 1e6 * (end - compiled) / args.issues
    print(f"per issue: {per_issue:.0f} us, {size / args.issues / 1024:.1f} KB HTML + text")


if __name__ == "__main__":
    main()
