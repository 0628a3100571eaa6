"""The embedding cache shared by parallel enqueue processes: the same vectors stored at once
from several writers, in any order, is neither an error nor a deadlock (found by the semantic
scale benchmark with two enqueue processes)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from sqlalchemy.engine import Engine

from newsletter.store.embeddings import StoreCache


def test_writers_storing_the_same_vectors_at_once_all_succeed(
    open_db: Callable[..., Engine],
) -> None:
    engine = open_db()
    keys = [f"phrase:topic {i}" for i in range(300)]
    vectors = {k: np.full(8, i, dtype=np.float32) for i, k in enumerate(keys)}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def write(order: list[str]) -> None:
        cache = StoreCache(engine)
        start.wait()
        try:
            cache.put({k: vectors[k] for k in order}, "m")
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    orders = [keys, keys[::-1], keys[150:] + keys[:150], keys[::2] + keys[1::2]]
    threads = [threading.Thread(target=write, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    found = StoreCache(engine).get(keys, "m")
    assert len(found) == 300 and float(found["phrase:topic 7"][0]) == 7.0
