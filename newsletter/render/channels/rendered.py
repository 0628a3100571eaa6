"""A channel issue as rendered: one JSON body per request, in order, and a plain reading."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from newsletter.render.channels.digest import Unit, readable


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

    def encoded(self) -> tuple[str, ...]:
        """Each part as the compact JSON that is stored and posted."""
        return tuple(dumps(part) for part in self.parts)


def dumps(body: Any) -> str:
    """Compact JSON, non-ASCII kept (sizes are counted as the platform counts them)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
