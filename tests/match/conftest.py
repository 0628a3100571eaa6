"""Fixtures for the matcher tests: small hand-made papers, the seed corpus, the real model."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from newsletter.match import load_embedder
from newsletter.match.semantic import Embedder
from newsletter.models import Paper
from newsletter.sources.base import ParseContext
from newsletter.sources.text import parse


def paper(title: str, abstract: str = "", **more: object) -> Paper:
    """A paper with a filler abstract unless one is given."""
    text = abstract or f"We study {title.lower()} and report experiments on several benchmarks."
    return Paper(title=title, abstract=text, **more)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def seed_papers(seeds_dir: Path) -> list[Paper]:
    """The 185 distinct papers of the seed pages, parsed by the text source."""
    found: dict[str, Paper] = {}
    for path in sorted(seeds_dir.glob("*.txt")):
        page = parse(path.read_bytes(), ParseContext(origin=str(path), today=date(2026, 1, 1)))
        for p in page.papers:
            found.setdefault(p.key, p)
    return list(found.values())


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The packaged MiniLM model, loaded once; tests that need it skip without the extra."""
    model = load_embedder()
    if model is None:
        pytest.skip("the sentence model is not installed (`newsletter model install`)")
    return model
