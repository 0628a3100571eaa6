"""Fixtures of the language model tests: the seed papers, a loopback fake, a sleep that only
records, and synthetic requests the fake answers through a responder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from newsletter.llm.contract import Request
from newsletter.models import Paper
from newsletter.sources.base import ParseContext
from newsletter.sources.text import parse
from tests.llm_fake import LlmFake

FIELDS = {"fields": ["computer science", "robotics"], "summary": "A robot learns to grasp."}


@pytest.fixture(scope="session")
def papers(seeds_dir: Path) -> list[Paper]:
    """The distinct papers of the seed pages, as ``benchmarks/match_bench.seed_papers`` reads
    them (the recorded answers were asked about exactly these)."""
    found: dict[str, Paper] = {}
    for path in sorted(seeds_dir.glob("*.txt")):
        page = parse(path.read_bytes(), ParseContext(origin=str(path), today=date(2026, 1, 1)))
        for paper in page.papers:
            found.setdefault(paper.key, paper)
    return list(found.values())


@pytest.fixture
def fake() -> Iterator[LlmFake]:
    """The fake replaying the recorded answers, and answering synthetic requests with FIELDS."""
    with LlmFake(lambda r: FIELDS if r.system == "test" else None) as server:
        yield server
    assert server.errors == []


def synthetic(n: int, use: str = "paper_fields") -> list[Request]:
    """``n`` distinct requests that no recording answers (the fake's responder does)."""
    return [Request(use, "test", f"paper number {i}") for i in range(n)]  # type: ignore[arg-type]


class Waits(list[float]):
    """A sleep that records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()
