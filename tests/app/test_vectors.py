"""Embedding ahead: the enqueue finds every vector it needs cached and never asks the model."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from newsletter.app.enqueue import enqueue_due
from newsletter.app.run import deliver
from newsletter.app.stages import Stages
from newsletter.app.vectors import embed_ahead
from newsletter.config import Config, MatchSettings
from newsletter.match import Matcher, fields
from newsletter.store.embeddings import StoreCache
from newsletter.store.profiles import iter_active
from tests.app.conftest import add_papers, add_subscriber

DAY1 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Recorder:
    """A stand-in model (vectors from a hash of the text) noting who asked for each text."""

    name = "stand-in"

    def __init__(self) -> None:
        self.ahead: list[str] = []
        self.during_enqueue: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        stack = {frame.function for frame in inspect.stack()}
        (self.during_enqueue if "_enqueue_batch" in stack else self.ahead).extend(texts)
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest(), np.uint8) for t in texts]
        vectors = np.array(rows, dtype=np.float32) - 127.5
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def stages(config: Config, engine: Engine, recorder: Recorder) -> Stages:
    add_subscriber(engine, "ada@example.org", "UTC", "08:00", exclude=("robot arms",))
    add_subscriber(engine, "bob@example.org", "UTC", "20:00", topics=("quantum annealing",))
    add_papers(engine, DAY1 - timedelta(hours=1), "vision", n=4)
    matcher = Matcher(MatchSettings(), recorder, StoreCache(engine))
    return Stages.build(config, engine, matcher)


def test_a_run_embeds_ahead_and_the_enqueue_never_asks_the_model(
    stages: Stages, recorder: Recorder
) -> None:
    enqueued, _ = deliver(stages, DAY1, None)
    assert enqueued.enqueued == 1  # Ada; Bob's issue is due in the evening
    assert recorder.during_enqueue == []
    assert {"spiking neural networks", "robot arms"} <= set(recorder.ahead)
    # the topic names a field: its terms, which the enqueue scores too, were embedded ahead
    terms = set(fields.terms("spiking neural networks"))
    assert terms and terms <= set(recorder.ahead)
    assert sum(t.startswith("Spiking neural networks for vision") for t in recorder.ahead) == 4
    assert "quantum annealing" not in recorder.ahead  # not due yet: embedded on its day
    # the next run has nothing new to embed
    before = len(recorder.ahead)
    assert embed_ahead(stages, DAY1, iter_active(stages.engine)) == 0
    assert len(recorder.ahead) == before


def test_without_embedding_ahead_the_enqueue_would_load_the_model(
    stages: Stages, recorder: Recorder
) -> None:
    enqueue_due(stages, iter_active(stages.engine), DAY1)  # the check above can fail
    assert "spiking neural networks" in recorder.during_enqueue


def test_embedding_ahead_does_nothing_without_semantic_matching(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    add_subscriber(engine, "ada@example.org", "UTC", "08:00")
    add_papers(engine, DAY1 - timedelta(hours=1), "vision")
    stages = Stages.build(config, engine)  # the test config turns semantic matching off
    assert stages.matcher.embedder is None
    assert embed_ahead(stages, DAY1, iter_active(engine)) == 0
