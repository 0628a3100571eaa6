"""The sample pages and subscribers shipped for ``newsletter demo`` parse and ingest once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

import newsletter
from newsletter.app.ingest import ingest
from newsletter.config import Config, SourceSettings
from newsletter.sources.http import Fetcher
from newsletter.subscriber_files import load_dir

DEMO = Path(newsletter.__file__).resolve().parent / "demo" / "data"
PAGES = ("digest.txt", "daily_papers.json", "arxiv_feed.xml")
NOW = datetime(2026, 1, 13, 9, 0, tzinfo=UTC)


def test_demo_pages_ingest_without_skips_and_only_once(
    open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    engine, config = open_db(), make_config()
    specs = [SourceSettings(path=str(DEMO / name)) for name in PAGES]
    with Fetcher(config.fetch) as fetcher:
        reports = ingest(engine, config, specs, fetcher, NOW)
        again = ingest(engine, config, specs, fetcher, NOW)
    assert [r.status for r in reports] == ["ok", "ok", "ok"]
    assert [r.entries for r in reports] == [6, 6, 5]
    assert all(not r.skipped for r in reports)
    assert sum(r.counts.new for r in reports) == 16  # the feed repeats one JSON paper
    assert sum(r.counts.new + r.counts.updated for r in again) == 0


def test_demo_subscribers_load() -> None:
    subs = load_dir(DEMO / "subscribers")
    assert sorted(s.email for s in subs) == [
        "ines@example.org", "marco@example.org", "rosa@example.org"]
    assert all(s.topics for s in subs)


def test_demo_pages_are_not_copied_from_the_seeds(seeds_dir: Path) -> None:
    seeds = "\n".join(p.read_text(encoding="utf-8") for p in seeds_dir.glob("*.txt"))
    demo = (DEMO / "digest.txt").read_text(encoding="utf-8").splitlines()[6:]
    assert not [line for line in demo if len(line) > 30 and line in seeds]
