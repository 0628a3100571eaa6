"""The five real seed pages ingest completely: 234 entries, 185 papers, nothing added twice."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from newsletter.app.ingest import ingest
from newsletter.config import Config, SourceSettings
from newsletter.sources.http import Fetcher
from newsletter.store.papers import count_papers, list_papers

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def seed_specs(seeds_dir: Path) -> list[SourceSettings]:
    return [SourceSettings(path=str(p)) for p in sorted(seeds_dir.glob("*.txt"))]


def run(engine: Engine, config: Config, specs: list[SourceSettings]) -> list:  # type: ignore[type-arg]
    with Fetcher(config.fetch) as fetcher:
        return ingest(engine, config, specs, fetcher, NOW)


def test_seeds_ingest_completely_and_only_once(
    seeds_dir: Path, open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    engine, config = open_db(), make_config()
    reports = run(engine, config, seed_specs(seeds_dir))
    assert [r.status for r in reports] == ["ok"] * 5
    assert sum(r.entries for r in reports) == 234
    assert sum(r.counts.new for r in reports) == 185
    assert all(not r.skipped for r in reports)
    with engine.connect() as conn:
        assert count_papers(conn) == 185
    again = run(engine, config, seed_specs(seeds_dir))
    assert sum(r.counts.new for r in again) == 0
    assert sum(r.counts.updated for r in again) == 0


def _raw_entries(path: Path) -> dict[str, str]:
    """Title -> abstract, read independently of the parser: a title line is followed by a
    much longer abstract line."""
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return {a: b for a, b in itertools.pairwise(lines) if len(b) > 1000 > len(a)}


def test_titles_and_abstracts_are_exact(
    seeds_dir: Path, open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    engine = open_db()
    run(engine, make_config(), seed_specs(seeds_dir))
    with engine.connect() as conn:
        stored = {p.title: p.abstract for p in list_papers(conn)}
    expected: dict[str, str] = {}
    for path in sorted(seeds_dir.glob("*.txt")):
        for title, abstract in _raw_entries(path).items():
            expected.setdefault(title, abstract)
    assert len(expected) == 185
    assert stored == expected
    assert "Generating $π$-Functional Molecules Using STGG+ with Active Learning" in stored


def test_author_counts_dates_and_upvotes(
    seeds_dir: Path, open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    engine = open_db()
    run(engine, make_config(), [SourceSettings(path=str(seeds_dir / "004_8c4e85f7d1409868.txt"))])
    with engine.connect() as conn:
        papers = {p.title: p for p in list_papers(conn)}
    brain3d = papers["Brain3D: Generating 3D Objects from fMRI"]
    assert (brain3d.author_count, brain3d.published, brain3d.upvotes) == (
        7,
        date(2024, 5, 24),
        None,
    )
    meta = papers["Meta-Learning an In-Context Transformer Model of Human Higher Visual Cortex"]
    # "May 21 2": no year, so the page's year (the page is dated Dec 8, before 2026-11-23 -> 2025)
    assert (meta.author_count, meta.published, meta.upvotes) == (9, date(2025, 5, 21), 2)
    assert all(p.author_count for p in papers.values())
    assert sum(p.upvotes is not None for p in papers.values()) >= 2


def test_a_failing_source_does_not_stop_the_others(
    seeds_dir: Path,
    tmp_path: Path,
    open_db: Callable[..., Engine],
    make_config: Callable[..., Config],
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe garbage \x00\x01")
    engine = open_db()
    specs = [
        SourceSettings(path=str(bad)),
        *seed_specs(seeds_dir)[:1],
        SourceSettings(path=str(tmp_path / "missing.txt")),
    ]
    reports = run(engine, make_config(), specs)
    assert [r.status for r in reports] == ["failed", "ok", "failed"]
    assert reports[0].error == "binary data, not a text snapshot"
    assert "No such file" in reports[2].error
    with engine.connect() as conn:
        assert count_papers(conn) == 23
