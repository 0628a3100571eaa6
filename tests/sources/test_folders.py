"""Folder and glob sources: every page is a source of its own; an empty match is one failed line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine

from newsletter.app.ingest import SourceReport, ingest
from newsletter.cli import cli
from newsletter.config import Config, SourceSettings
from newsletter.errors import SourceError
from newsletter.sources.folders import expand, page_name
from newsletter.sources.http import Fetcher
from newsletter.sources.reading import load_papers, read_source
from newsletter.store.papers import count_papers, list_papers

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALL_SUFFIXES = "*.txt, *.json, *.html, *.htm, *.xml, *.rss, *.atom"


def page(*titles: str, upvotes: int | None = None) -> str:
    """A small text snapshot: the header, then each title with an abstract (and a date line)."""
    lines = ["Get trending papers in your email inbox!", "", "Mar 11", ""]
    for title in titles:
        lines += [title, "", f"We study {title.lower()} at length, with care and with results.", ""]
        if upvotes is not None:
            lines += ["Mar 10" + f" {upvotes}", ""]
    return "\n".join(lines)


@pytest.fixture
def snaps(tmp_path: Path) -> Path:
    """snaps/: two pages, a hidden page, a README, and a sub-folder with a page of its own."""
    folder = tmp_path / "snaps"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text(page("Beta Paper", "Shared Paper"))
    (folder / "a.txt").write_text(page("Alpha Paper", "Shared Paper"))
    (folder / ".hidden.txt").write_text(page("Hidden Paper"))
    (folder / "README.md").write_text("notes, not a page\n")
    (folder / "sub" / "c.txt").write_text(page("Gamma Paper"))
    return folder


def run(engine: Engine, config: Config, *specs: SourceSettings) -> list[SourceReport]:
    with Fetcher(config.fetch) as fetcher:
        return ingest(engine, config, list(specs), fetcher, NOW)


def titles(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {p.title for p in list_papers(conn)}


def test_a_folder_ingests_each_page_as_a_source(
    snaps: Path, open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    engine, config = open_db(), make_config()
    reports = run(engine, config, SourceSettings(path="snaps/"))
    assert [(r.source, r.status) for r in reports] == [("snaps/a.txt", "ok"), ("snaps/b.txt", "ok")]
    assert [(r.counts.new, r.counts.unchanged) for r in reports] == [(2, 0), (1, 1)]
    assert titles(engine) == {"Alpha Paper", "Beta Paper", "Shared Paper"}


def test_a_named_folder_of_one_kind_names_its_pages_after_it(
    snaps: Path, open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    (snaps / "feed.xml").write_text("<rss/>")  # not a text page: left out
    reports = run(open_db(), make_config(), SourceSettings(name="hf", kind="text", path="snaps"))
    assert [r.source for r in reports] == ["hf/a.txt", "hf/b.txt"]


def test_the_seed_folder_ingests_like_five_sources(
    seeds_dir: Path, open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    engine = open_db()
    reports = run(engine, make_config(), SourceSettings(path=str(seeds_dir)))
    assert [r.status for r in reports] == ["ok"] * 5  # README.md is not a page
    assert sum(r.entries for r in reports) == 234
    assert sum(r.counts.new for r in reports) == 185
    assert reports[0].source == f"{seeds_dir}/000_6553f7b6cd8f9837.txt"


@pytest.mark.parametrize(
    ("pattern", "names"),
    [
        ("snaps/*.txt", ["snaps/a.txt", "snaps/b.txt"]),
        ("snaps/**/*.txt", ["snaps/a.txt", "snaps/b.txt", "snaps/sub/c.txt"]),
        ("snaps/[b]*", ["snaps/b.txt"]),
        ("*/sub/*.txt", ["snaps/sub/c.txt"]),
    ],
)
def test_a_glob_ingests_every_file_it_matches(
    pattern: str,
    names: list[str],
    snaps: Path,
    open_db: Callable[..., Engine],
    make_config: Callable[..., Config],
) -> None:
    reports = run(open_db(), make_config(), SourceSettings(path=pattern))
    assert [r.source for r in reports] == names
    assert {r.status for r in reports} == {"ok"}


def test_an_empty_folder_or_glob_is_one_failed_source(
    tmp_path: Path, snaps: Path, open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".hidden.txt").write_text(page("Hidden Paper"))
    engine = open_db()
    reports = run(
        engine,
        make_config(),
        SourceSettings(path="empty/"),
        SourceSettings(path="empty", kind="text"),
        SourceSettings(path="snaps/*.pdf"),
    )
    assert [(r.source, r.status, r.error) for r in reports] == [
        ("empty/", "failed", f"no pages ({ALL_SUFFIXES})"),
        ("empty", "failed", "no pages (*.txt)"),
        ("snaps/*.pdf", "failed", "no files match"),
    ]
    assert titles(engine) == set()


def test_a_bad_page_does_not_stop_the_good_pages_beside_it(
    snaps: Path, open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    (snaps / "ab.txt").write_bytes(b"\x00\x01 not text")
    (snaps / "ac.txt").write_text("")
    engine = open_db()
    reports = run(engine, make_config(), SourceSettings(path="snaps"))
    assert [(r.source, r.status, r.error) for r in reports] == [
        ("snaps/a.txt", "ok", ""),
        ("snaps/ab.txt", "failed", "binary data, not a text snapshot"),
        ("snaps/ac.txt", "failed", "empty file"),
        ("snaps/b.txt", "ok", ""),
    ]
    assert titles(engine) == {"Alpha Paper", "Beta Paper", "Shared Paper"}


def test_a_missing_folder_still_fails_as_a_file(
    open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    (report,) = run(open_db(), make_config(), SourceSettings(path="nope/"))
    assert report.error == "cannot read file: No such file or directory"


def test_expand_is_idempotent_and_leaves_urls_alone(
    snaps: Path, make_config: Callable[..., Config]
) -> None:
    config = make_config()
    url = SourceSettings(url="https://example.org/feed")
    once = expand([url, SourceSettings(path="snaps/", year=2024)], config)
    assert once[0] == url
    assert [(s.name, s.path, s.year) for s in once[1:]] == [
        ("snaps/a.txt", str(snaps / "a.txt"), 2024),
        ("snaps/b.txt", str(snaps / "b.txt"), 2024),
    ]
    assert expand(once, config) == once


def test_page_names_keep_the_folder_or_the_glob_prefix() -> None:
    assert page_name("snapshots/", "001.txt") == "snapshots/001.txt"
    assert page_name("./snaps/**/*.txt", "a/b.txt") == "./snaps/a/b.txt"
    assert page_name("*.txt", "001.txt") == "001.txt"
    assert page_name("/*.txt", "001.txt") == "/001.txt"


def test_read_source_reads_a_whole_folder_as_pages(
    snaps: Path, make_config: Callable[..., Config]
) -> None:
    config = make_config()
    with Fetcher(config.fetch) as fetcher:
        reading = read_source(SourceSettings(path="snaps"), fetcher, config, date(2026, 3, 12))
        assert len(reading.pages) == 2 and len(reading.papers) == 4
        with pytest.raises(SourceError, match=r"^snaps/\*\.pdf: no files match$"):
            read_source(SourceSettings(path="snaps/*.pdf"), fetcher, config, date(2026, 3, 12))


def test_load_papers_takes_folders_and_globs(
    snaps: Path, monkeypatch: pytest.MonkeyPatch, make_config: Callable[..., Config]
) -> None:
    monkeypatch.chdir(snaps.parent)
    config, today = make_config(), date(2026, 3, 12)
    assert len(load_papers(["snaps/"], config, today)) == 3
    assert len(load_papers(["snaps/**/*.txt"], config, today)) == 4
    (snaps / "bad.txt").write_text("")
    with pytest.raises(SourceError, match=r"^snaps/bad\.txt: empty file$"):
        load_papers(["snaps"], config, today)
    errors: list[SourceError] = []
    assert len(load_papers(["snaps", "snaps/*.pdf"], config, today, errors.append)) == 3
    assert [str(e) for e in errors] == ["snaps/bad.txt: empty file", "snaps/*.pdf: no files match"]


def test_different_upvotes_on_two_pages_are_not_an_update_on_every_fetch(
    tmp_path: Path, open_db: Callable[..., Engine], make_config: Callable[..., Config]
) -> None:
    (tmp_path / "snaps").mkdir()
    (tmp_path / "snaps" / "a.txt").write_text(page("Voted Paper", upvotes=12))
    (tmp_path / "snaps" / "b.txt").write_text(page("Voted Paper", upvotes=3))
    engine, config = open_db(), make_config()
    run(engine, config, SourceSettings(path="snaps"))
    for _ in range(2):
        reports = run(engine, config, SourceSettings(path="snaps"))
        assert [(r.counts.updated, r.counts.unchanged) for r in reports] == [(0, 1), (0, 1)]
    with engine.connect() as conn:
        [stored] = list_papers(conn)
        assert count_papers(conn) == 1
    assert stored.upvotes == 12


# --- newsletter fetch ---------------------------------------------------------------------------


def fetch(tmp_path: Path, *args: str) -> Result:
    config = tmp_path / "newsletter.toml"
    if not config.exists():
        config.write_text('[newsletter]\ndatabase_url = "sqlite:///news.db"\n')
    return CliRunner().invoke(cli, ["--config", str(config), "fetch", *args])


def test_fetch_source_folder_reports_each_page(
    tmp_path: Path, snaps: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = fetch(tmp_path, "--source", "snaps/")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "ok  snaps/a.txt: 2 entries, 2 new, 0 updated, 0 unchanged",
        "ok  snaps/b.txt: 2 entries, 1 new, 0 updated, 1 unchanged",
        "2 sources, 3 new papers, 0 failed",
    ]


def test_fetch_configured_folder_and_glob_with_an_empty_one(tmp_path: Path, snaps: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "newsletter.toml").write_text(
        '[newsletter]\ndatabase_url = "sqlite:///news.db"\n'
        '[[sources]]\npath = "snaps/"\n'
        '[[sources]]\nname = "deep"\npath = "snaps/**/c.txt"\n'
        '[[sources]]\npath = "empty/"\n'
    )
    result = fetch(tmp_path)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "ok  snaps/a.txt: 2 entries, 2 new, 0 updated, 0 unchanged",
        "ok  snaps/b.txt: 2 entries, 1 new, 0 updated, 1 unchanged",
        "ok  deep/sub/c.txt: 1 entries, 1 new, 0 updated, 0 unchanged",
        f"failed  empty/: no pages ({ALL_SUFFIXES})",
        "4 sources, 4 new papers, 1 failed",
    ]


def test_fetch_shows_a_glob_with_brackets_as_written(tmp_path: Path, snaps: Path) -> None:
    result = fetch(tmp_path, "--source", str(snaps / "[xy]*.txt"))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"failed  {snaps}/[xy]*.txt: no files match"
