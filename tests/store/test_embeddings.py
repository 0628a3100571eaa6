"""The embedding cache shared by parallel enqueue processes: the same vectors stored at once
from several writers, in any order, is neither an error nor a deadlock (found by the semantic
scale benchmark with two enqueue processes)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import sqlalchemy as sa
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


def test_known_keys_are_asked_of_the_database_once(open_db: Callable[..., Engine]) -> None:
    engine = open_db()
    keys = [f"phrase:topic {i}" for i in range(10)]
    StoreCache(engine).put({k: np.ones(4, dtype=np.float32) for k in keys}, "m")
    cache = StoreCache(engine)  # a new process: nothing seen yet
    asked: list[object] = []

    def note(_conn: object, _cursor: object, sql: str, params: object, *_: object) -> None:
        if "embeddings" in sql:
            asked.append(params)

    sa.event.listen(engine, "before_cursor_execute", note)
    assert cache.known([*keys, "phrase:new"], "m") == set(keys)
    assert len(asked) == 1
    assert cache.known([*keys, "phrase:new"], "m") == set(keys)
    assert len(asked) == 2 and "phrase:topic 3" not in str(asked[1])  # only the unknown key
    assert cache.known(keys, "other model") == set()
