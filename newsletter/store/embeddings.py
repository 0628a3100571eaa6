"""Embedding vectors cached in the database: computed once per paper (or phrase) and model."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from newsletter.store.tables import embeddings

_CHUNK = 500
_SEEN_MAX = 500_000  # keys remembered per model before the memory starts over


class StoreCache:
    """A ``VectorCache`` over the ``embeddings`` table; each ``put`` is its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Keys seen stored, per model: vectors are never changed or removed, so a service that
        # asks every tick whether its readers' phrases are embedded asks the database once.
        self._seen: dict[str, set[str]] = {}

    def get(self, keys: Sequence[str], model: str) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for key, blob in self._read(keys, model, embeddings.c.vector):
            found[key] = np.frombuffer(blob, dtype="<f4").copy()
        self._seen.setdefault(model, set()).update(found)
        return found

    def known(self, keys: Sequence[str], model: str) -> set[str]:
        seen = self._seen.setdefault(model, set())
        if len(seen) > _SEEN_MAX:  # a long-lived service: bounded, at the cost of a re-read
            seen.clear()
        seen.update(key for key, _ in self._read([k for k in keys if k not in seen], model,
                                                 sa.null()))
        return {k for k in keys if k in seen}

    def _read(
        self, keys: Sequence[str], model: str, column: sa.ColumnElement[Any]
    ) -> Iterator[tuple[str, Any]]:
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                chunk = list(keys[start : start + _CHUNK])
                query = sa.select(embeddings.c.key, column).where(
                    (embeddings.c.model == model) & embeddings.c.key.in_(chunk)
                )
                yield from ((str(k), v) for k, v in conn.execute(query))

    def put(self, vectors: Mapping[str, np.ndarray], model: str) -> None:
        """Store vectors, skipping keys another process stored meanwhile."""
        if not vectors:
            return
        known = self.known(list(vectors), model)
        rows = [
            {
                "key": k,
                "model": model,
                "dim": int(v.shape[0]),
                "vector": np.asarray(v, dtype="<f4").tobytes(),
            }
            for k, v in sorted(vectors.items(), key=lambda item: item[0])
            if k not in known
        ]  # in key order: two processes inserting the same keys wait, never deadlock
        if rows:  # two processes may compute the same vector at once: the first one stays
            dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
            with self.engine.begin() as conn:
                conn.execute(dialect.insert(embeddings).on_conflict_do_nothing(), rows)
        self._seen.setdefault(model, set()).update(vectors)
