"""The per-reader model (match/reader.py): a library is read for what its papers share, a
library reader's issue is never empty when papers near it exist, recent entries weigh more,
and each "more/less like this" moves the model by a nudge."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from newsletter.config import MatchSettings
from newsletter.match import Matcher, reader
from newsletter.match.clusters import kmeans, representatives
from newsletter.match.semantic import Embedder
from newsletter.models import Paper, Subscriber
from tests.match.conftest import paper

SPIKING = [
    paper("Surrogate gradients for training deep spiking neural networks",
          "Spiking neurons emit binary spikes; we train deep spiking networks with surrogate "
          "gradients on neuromorphic benchmarks."),
    paper("Spiking neural networks on neuromorphic hardware",
          "We deploy spiking neural networks on Loihi, measuring spikes, latency and energy."),
    paper("Continual learning with spiking neural networks",
          "Spiking networks with synaptic plasticity learn tasks in sequence without "
          "catastrophic forgetting, a continual learning benchmark for spiking neurons."),
]
CANDIDATES = [
    paper("Event-driven spiking neural networks for keyword spotting",
          "A spiking neural network with leaky integrate-and-fire neurons spots keywords "
          "from spikes at low energy on neuromorphic chips."),
    paper("Learning synaptic delays in spiking neural networks",
          "Spiking neurons with learnable delays improve temporal spike pattern recognition."),
    paper("Spike-timing-dependent plasticity in neuromorphic spiking circuits",
          "Spiking circuits learn with spike-timing-dependent plasticity on neuromorphic chips."),
    paper("A review of continual learning methods",
          "Continual learning avoids catastrophic forgetting: replay, regularisation and "
          "parameter isolation methods for learning tasks in sequence are reviewed."),
    paper("Continual learning for large language models: a survey",
          "We survey continual learning of language models, catastrophic forgetting and "
          "benchmarks of learning tasks in sequence."),
    paper("Rehearsal-free continual learning with prompts",
          "Prompts avoid catastrophic forgetting in continual learning without replay."),
    paper("Mass-radius relationships for solid exoplanets"),
    paper("Transformers for protein folding"),
    paper("Graph neural networks for traffic forecasting"),
    paper("Clinical outcomes of radiotherapy planning", "Clinical trial results on patients."),
]


def library_reader(papers: list[Paper]) -> Subscriber:
    return Subscriber(email="lin@example.org", topics=(), library=tuple(p.key for p in papers))


def titles(picks: list) -> list[str]:  # type: ignore[type-arg]
    return [p.paper.title for p in picks]


@pytest.mark.slow
def test_a_library_is_read_for_what_its_papers_share(embedder: Embedder) -> None:
    """One liked paper mentions continual learning; the library is about spiking networks:
    every spiking paper comes before any continual-learning review (the nearest neighbour of
    that one paper put a review first)."""
    matcher = Matcher(MatchSettings(), embedder)
    refs = {p.key: p for p in SPIKING}
    picks = titles(matcher.match(library_reader(SPIKING), CANDIDATES, references=refs))
    spiking = [p.title for p in CANDIDATES[:3]]
    reviews = [p.title for p in CANDIDATES[3:6]]
    assert picks[:3] and set(picks[:3]) <= set(spiking)
    shown = [picks.index(t) for t in reviews if t in picks]
    assert all(i > max(picks.index(t) for t in spiking if t in picks) for i in shown)


def test_a_library_reader_gets_their_best_matches_when_none_is_close() -> None:
    """Words only (no model): nothing is close to the library, yet its best match is sent;
    a reader whose topics are elsewhere gets no such filler."""
    matcher = Matcher(MatchSettings(semantic=False))
    library = [paper("Spiking neural networks on neuromorphic hardware")]
    far = [paper("Graph neural networks for traffic forecasting"),
           paper("Mass-radius relationships for solid exoplanets"),
           paper("Transformers for protein folding"),
           paper("Clinical outcomes of radiotherapy planning", "Clinical trial results.")]
    refs = {p.key: p for p in library}
    picks = matcher.match(library_reader(library), far, references=refs)
    assert titles(picks) == ["Graph neural networks for traffic forecasting"]
    assert picks[0].reasons and picks[0].reasons[0].startswith("similar to a paper you liked")
    with_topics = Subscriber(email="t@example.org", topics=("quantum gravity",),
                             library=library_reader(library).library)
    assert matcher.match(with_topics, far, references=refs) == []


def test_each_click_moves_the_model_and_one_click_never_empties() -> None:
    """A +1 on a spiking paper lifts spiking papers in the ranking of a reader whose library
    is about exoplanets; a -1 on their best pick sinks its like, and the issue is not empty."""
    matcher = Matcher(MatchSettings(semantic=False))
    library = [paper("Mass-radius relationships for solid exoplanets"),
               paper("Atmospheres of rocky exoplanets")]
    pool = [*CANDIDATES, paper("Interior models of solid exoplanets"),
            paper("Ohmic heating inflates the radius of hot Jupiter exoplanets"),
            paper("Radius inflation of hot exoplanets")]
    refs = {p.key: p for p in library + pool}
    reader_ = library_reader(library)

    def ranking(feedback: dict[str, int]) -> dict[str, float]:
        picks = matcher.match_many([reader_], pool, None, {reader_.email: feedback}, refs,
                                   uncut=len(pool))
        return {p.paper.title: p.score for p in picks[reader_.email]}

    def place(scores: dict[str, float], title: str) -> int:
        return sorted(scores, key=lambda t: -scores[t]).index(title)

    spiking = [p.title for p in CANDIDATES[1:3]]
    before, after = ranking({}), ranking({CANDIDATES[0].key: 1})
    assert all(place(after, t) < place(before, t) for t in spiking)
    issue = matcher.match(reader_, pool, references=refs)
    assert titles(issue)[0] == "Radius inflation of hot exoplanets"
    disliked = {pool[-1].key: -1}
    assert matcher.match(reader_, pool, feedback=disliked, references=refs)  # never empty
    near = "Ohmic heating inflates the radius of hot Jupiter exoplanets"
    other = "Interior models of solid exoplanets"
    after = ranking(disliked)
    assert after[near] / after[other] < before[near] / before[other]  # its like sinks


def test_recent_library_entries_weigh_more() -> None:
    papers = [Paper("new", "", published=date(2026, 1, 1)), Paper("old", "", arxiv_id="2201.00001"),
              Paper("unknown", "")]
    weights = reader.recency(papers, half_life=2.0)
    assert weights[0] == pytest.approx(1.0)
    assert weights[1] == pytest.approx(0.25, abs=0.01)  # four years older: a quarter
    assert weights[2] == pytest.approx((weights[0] + weights[1]) / 2)
    assert list(reader.recency(papers[2:], 2.0)) == [1.0]


def test_a_recent_entry_pulls_harder_than_an_old_one() -> None:
    """Two library entries of different themes: the recent one's theme comes first."""
    matcher = Matcher(MatchSettings(semantic=False))
    old = paper("Mass-radius relationships for solid exoplanets", arxiv_id="1801.00001")
    older = "0801.00001"  # ten years before the exoplanet paper
    new = paper("Learning synaptic delays in spiking neural networks", arxiv_id="2605.00001")
    pool = [paper("Interior models of solid exoplanets and their radius"),
            paper("Spiking neural networks with learnable synaptic delays")]
    refs = {old.key: old, new.key: new}
    picks = titles(matcher.match(library_reader([old, new]), pool, references=refs))
    assert picks[0] == "Spiking neural networks with learnable synaptic delays"
    refs = {old.key: old, new.key: Paper(new.title, new.abstract, arxiv_id=older)}
    picks = titles(matcher.match(library_reader([old, new]), pool, references=refs))
    assert picks[0] == "Interior models of solid exoplanets and their radius"


def test_clusters_are_deterministic_and_spread() -> None:
    rng = np.random.default_rng(3)
    centres = np.eye(4, 16, dtype=np.float32) * 5
    points = np.vstack([c + rng.normal(scale=0.3, size=(20, 16)) for c in centres])
    labels = kmeans(points, 4)
    assert (labels == kmeans(points, 4)).all()
    assert all(len(set(labels[i * 20:(i + 1) * 20])) == 1 for i in range(4))
    chosen = representatives(points, 4)
    assert sorted(i // 20 for i in chosen) == [0, 1, 2, 3]
    assert representatives(points[:3], 12) == representatives(points[:3], 12)
    assert len(representatives(points[:3], 12)) == 3
