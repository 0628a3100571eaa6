"""A channel issue as rendered: one JSON body per request, in order, and a plain reading."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from newsletter.render.channels.digest import Digest, Unit, pack, readable

T = TypeVar("T")


@dataclass(frozen=True)
class Rendered:
    """``parts``: the request bodies in the order they are posted; ``text``: how they read."""

    kind: str
    parts: tuple[dict[str, Any], ...]
    text: str

    @classmethod
    def of(cls, kind: str, bodies: Sequence[dict[str, Any]], headings: Sequence[str],
           units: Sequence[Sequence[Unit[Any]]]) -> Rendered:
        return cls(kind, tuple(bodies), readable(headings, units))

    @classmethod
    def packed(
        cls, kind: str, digest: Digest, units: Sequence[Unit[T]],
        fits: Callable[[list[T]], bool], body: Callable[[str, list[T]], dict[str, Any]],
    ) -> Rendered:
        """``units`` in as few parts as ``fits`` allows (one empty part when there are
        none), each part headed "1 of N" and made into a request ``body`` from its heading
        and items."""
        parts = pack(units, fits) or [[]]
        headings = [digest.part_heading(i, len(parts)) for i in range(1, len(parts) + 1)]
        groups = [[u.item for u in group] for group in parts]
        bodies = [body(h, items) for h, items in zip(headings, groups, strict=True)]
        return cls.of(kind, bodies, headings, parts)

    def encoded(self) -> tuple[str, ...]:
        """Each part as the compact JSON that is stored and posted."""
        return tuple(dumps(part) for part in self.parts)


def dumps(body: Any) -> str:
    """Compact JSON, non-ASCII kept (sizes are counted as the platform counts them)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
