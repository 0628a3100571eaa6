"""Matching with the real MiniLM model on the seed corpus: meaning, excludes, cache, quality."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from newsletter.config import MatchSettings
from newsletter.match import Matcher, MemoryCache
from newsletter.match.evaluate import judge, mean_quality
from newsletter.match.semantic import Embedder
from newsletter.models import Paper, Subscriber, normalize_title

RELEVANCE = Path(__file__).resolve().parents[1] / "data" / "relevance"
GLIOMA = (
    "Individualizing Glioma Radiotherapy Planning by Optimization of Data "
    "and Physics-Informed Discrete Loss"
)


class Counting:
    """The real embedder, counting the texts it is asked to encode."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.encoded = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += len(texts)
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def cache() -> MemoryCache:
    return MemoryCache()


@pytest.fixture
def matcher(embedder: Embedder, cache: MemoryCache) -> Matcher:
    return Matcher(MatchSettings(), embedder, cache)


def titles(picks: list) -> list[str]:  # type: ignore[type-arg]
    return [p.paper.title for p in picks]


def test_exclude_by_meaning_drops_the_glioma_paper(
    matcher: Matcher, seed_papers: list[Paper]
) -> None:
    topics = ("physics-informed neural networks", "radiotherapy planning")
    plain = matcher.match(Subscriber(email="a@b.org", topics=topics), seed_papers)
    assert GLIOMA in titles(plain)
    assert "clinical" not in next(p for p in seed_papers if p.title == GLIOMA).abstract.lower()
    strict = Subscriber(email="a@b.org", topics=topics, exclude=("clinical",))
    picks = matcher.match(strict, seed_papers)
    assert GLIOMA not in titles(picks)
    assert picks, "excluding 'clinical' must not empty a physics-informed profile"


def test_close_in_meaning_without_shared_words(matcher: Matcher, seed_papers: list[Paper]) -> None:
    profile = Subscriber(email="a@b.org", topics=("reading visual experiences out of the brain",))
    picks = matcher.match(profile, seed_papers)
    assert picks
    assert any("brain" in t.lower() for t in titles(picks[:3]))
    assert "close in meaning to 'reading visual experiences out of the brain'" in picks[0].reasons


def test_narrow_profile_gets_only_what_fits(matcher: Matcher, seed_papers: list[Paper]) -> None:
    picks = matcher.match(Subscriber(email="a@b.org", topics=("exoplanets",)), seed_papers)
    assert titles(picks)[0] == "Mass-Radius Relationships for Solid Exoplanets"
    assert len(picks) <= 3
    nothing = Subscriber(email="a@b.org", topics=("quantum gravity", "string theory"))
    assert matcher.match(nothing, seed_papers) == []


def test_a_liked_paper_pulls_its_neighbours(matcher: Matcher, seed_papers: list[Paper]) -> None:
    liked = next(p for p in seed_papers if p.title.startswith("Brain decoding: toward real-time"))
    profile = Subscriber(email="a@b.org", topics=("exoplanets",))
    picks = matcher.match(profile, seed_papers, feedback={liked.key: 1})
    pulled = [
        p for p in picks if any(r.startswith("similar to a paper you liked") for r in p.reasons)
    ]
    assert pulled and liked.key not in {p.paper.key for p in picks}
    assert any("brain" in p.paper.title.lower() or "fmri" in p.paper.title.lower() for p in pulled)


def test_embeddings_are_computed_once(embedder: Embedder, seed_papers: list[Paper]) -> None:
    counting = Counting(embedder)
    matcher = Matcher(MatchSettings(), counting, MemoryCache())
    profile = Subscriber(email="a@b.org", topics=("spiking neural networks",))
    first = matcher.match(profile, seed_papers[:40])
    assert counting.encoded == 40 + 1
    assert matcher.match(profile, seed_papers[:40]) == first
    matcher.match(profile, seed_papers[:50])
    assert counting.encoded == 41 + 10


def test_unrelated_topics_each_still_bring_their_papers(
    matcher: Matcher, seed_papers: list[Paper]
) -> None:
    """The profile-context factor must not starve a topic that is far from the others."""
    profile = Subscriber(email="a@b.org", topics=("exoplanets", "spiking neural networks"))
    found = titles(matcher.match(profile, seed_papers))
    assert "Mass-Radius Relationships for Solid Exoplanets" in found
    assert sum("Spiking Neural Networks" in t for t in found) >= 3


def test_a_word_match_far_from_the_profile_is_dropped(
    matcher: Matcher, seed_papers: list[Paper]
) -> None:
    """Topics read together: "in-context learning" beside chain-of-thought means LLMs."""
    reasoning = Subscriber(
        email="a@b.org",
        topics=(
            "chain-of-thought reasoning",
            "in-context learning",
            "planning abilities of language models",
        ),
    )
    found = titles(matcher.match(reasoning, seed_papers))
    assert any(t.startswith("What needs to go right for an induction head?") for t in found)
    assert not any(t.startswith("Meta-Learning an In-Context Transformer") for t in found)
    alone = Subscriber(email="a@b.org", topics=("in-context learning",))
    assert any(
        t.startswith("Meta-Learning an In-Context Transformer")
        for t in titles(matcher.match(alone, seed_papers))
    )
    compression = Subscriber(
        email="a@b.org", topics=("network pruning", "quantization", "sparse neural networks")
    )
    found = titles(matcher.match(compression, seed_papers))
    assert any(t.startswith("Post-Training Quantization") for t in found)
    assert not any(t.startswith("VQ-NeRF") for t in found)


@pytest.mark.parametrize(
    ("labels", "min_ndcg", "min_precision"),
    [("judgments.json", 0.90, 0.90), ("judgments_dev2.json", 0.88, 0.92)],
)
def test_quality_on_the_labelled_sets(
    matcher: Matcher,
    seed_papers: list[Paper],
    labels: str,
    min_ndcg: float,
    min_precision: float,
) -> None:
    """Guard rails just under the measured figures (see benchmarks/match_bench.py)."""
    profiles = json.loads((RELEVANCE / labels).read_text(encoding="utf-8"))["profiles"]
    results = []
    for prof in profiles:
        sub = Subscriber(
            email="a@b.org", topics=tuple(prof["topics"]), exclude=tuple(prof["exclude"])
        )
        picks = matcher.match(sub, seed_papers)
        results.append(judge([normalize_title(p.paper.title) for p in picks], prof["judgments"]))
    ndcg, precision, _missed = mean_quality(results)
    assert ndcg >= min_ndcg
    assert precision >= min_precision
