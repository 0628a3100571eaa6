"""Hostile input through every source kind: each one a clear answer, nothing lost, no traceback.

The corpus (``tests/data/hostile``, see its README) is served over loopback HTTP for the remote
kinds and read as files for the text kind, through ``newsletter fetch`` on SQLite and on
PostgreSQL. Then what local files may be (``/dev/zero``, a FIFO, a socket), a server that
trickles, hostile source names and surprises inside a parser or the store.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import socket
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from newsletter.app import ingest
from newsletter.app.ingest import SourceReport
from newsletter.cli import cli, common
from newsletter.config import Config, SourceSettings
from newsletter.errors import SourceError
from newsletter.models import KEY_CHARS, Paper
from newsletter.sources import feed, reading, registry
from newsletter.sources.clean import clean_line, clean_paper, clean_text, fit, fit_title
from newsletter.sources.http import Fetcher
from newsletter.sources.local import read_file
from newsletter.store import open_engine
from newsletter.store.fetch_state import load_validators
from newsletter.store.papers import count_papers, list_papers, to_row

from .http_site import Reply, Site

HOSTILE = Path(__file__).resolve().parents[1] / "data" / "hostile"
SOURCES = Path(__file__).resolve().parents[1] / "data" / "sources"
NOW = datetime(2026, 1, 13, 9, 0, tzinfo=UTC)
GOOD_TEXT = """Daily Papers

Jan 12

A Good Snapshot Paper About Robust Parsing

An ordinary abstract about parsing robustly, long enough to be taken as an abstract.

Another Good Snapshot Paper

A second ordinary abstract, also long enough to be taken as an abstract by the parser.
"""
HUGE = "'Word Word Word Word Word Word Word Word Word Word Word Word '"
ENV_OFF = {k: None for k in os.environ if k.startswith("NEWSLETTER_")}
BAD = frozenset("\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\x9b\u2028")


def hostile(name: str) -> bytes:
    return (HOSTILE / name).read_bytes()


def fetch(config_file: Path, *args: str) -> tuple[int, list[str]]:
    """``newsletter --config FILE fetch ARGS``; any exception but the exit status fails.

    The CLI leaves its engine to the end of the process; here it is disposed of at once.
    """
    engines: list[Engine] = []

    def opening(config: Config, **kw: Any) -> Engine:
        engines.append(open_engine(config.database_url, **kw))
        return engines[-1]

    with mock.patch.object(common, "open_database", opening):
        result = CliRunner().invoke(cli, ["--config", str(config_file), "fetch", *args],
                                    env=ENV_OFF)
    for engine in engines:
        engine.dispose()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output.splitlines()


def write_config(path: Path, database_url: str, sources: list[dict[str, str]],
                 fetch: str = "timeout = 5\nretries = 0\nmax_bytes = 8000000") -> Path:
    lines = ["[newsletter]", f'database_url = "{database_url}"', "[fetch]", fetch]
    for source in sources:
        lines.append("[[sources]]")
        lines += [f'{key} = "{value}"' for key, value in source.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def is_clean(text: str) -> bool:
    text.encode("utf-8")  # no lone surrogate
    return not BAD & set(text) and unicodedata.is_normalized("NFC", text)


# --- the corpus through every kind, on SQLite and PostgreSQL ------------------------------------

GZIP = {"Content-Encoding": "gzip"}


def corpus(site: Site, tmp_path: Path) -> list[dict[str, str]]:
    """Hostile sources interleaved with good ones, each named for the expectations below."""
    def remote(name: str, kind: str, file: str, headers: dict[str, str] | None = None) -> dict:
        return {"name": name, "kind": kind,
                "url": site.route(f"/{name}", Reply(body=hostile(file), headers=headers or {}))}

    def local(name: str, file: str) -> dict[str, str]:
        body = hostile(file)
        if file.endswith(".gz"):
            body, file = gzip.decompress(body), file.removesuffix(".gz")
        (tmp_path / file).write_bytes(body)
        return {"name": name, "kind": "text", "path": file}

    (tmp_path / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    good_rss = SOURCES / "arxiv_rss.xml"
    good_api = SOURCES / "hf_api_page1.json"
    return [
        remote("api-surrogate", "hf-api", "hf_api_lone_surrogate.json"),
        {"name": "good-rss", "kind": "feed",
         "url": site.route("/good-rss", Reply(body=good_rss.read_bytes()))},
        remote("api-nul", "hf-api", "hf_api_nul_title.json"),
        remote("api-every-field", "hf-api", "hf_api_every_field.json"),
        remote("page-hostile", "hf-page", "hf_page_hostile.html"),
        remote("feed-charrefs", "feed", "feed_bad_charrefs.xml"),
        remote("feed-raw-control", "feed", "feed_raw_control.xml"),
        remote("feed-raw-nul", "feed", "feed_raw_nul.xml"),
        remote("api-huge", "hf-api", "huge_title.json.gz", GZIP),
        remote("page-huge", "hf-page", "huge_title.html.gz", GZIP),
        remote("feed-huge", "feed", "huge_title.xml.gz", GZIP),
        local("text-controls", "text_controls.txt"),
        local("text-bad-utf8", "text_controls_bad_utf8.txt"),
        local("text-nul-bad-byte", "text_nul_and_bad_byte.txt"),
        local("text-long-title", "text_long_title.txt"),
        local("text-huge", "huge_title.txt.gz"),
        {"name": "good-text", "kind": "text", "path": "good.txt"},
        {"name": "good-api", "kind": "hf-api",
         "url": site.route("/good-api", Reply(body=good_api.read_bytes()))},
    ]


EXPECTED = {
    "api-surrogate": "ok  api-surrogate: 2 entries, 2 new, 0 updated, 0 unchanged",
    "good-rss": "ok  good-rss: 3 entries, 2 new, 0 updated, 0 unchanged, 1 skipped (entry 2: "
                "'An Entry Whose Abstract Went Missing': no abstract)",
    "api-nul": "ok  api-nul: 2 entries, 2 new, 0 updated, 0 unchanged",
    "api-every-field": "ok  api-every-field: 3 entries, 2 new, 0 updated, 0 unchanged, 1 skipped "
                       "(paper 'Arabic-Indic Digits Are Not an arXiv Id': '٢٦٠١.٩٠٠٢٢' is not an "
                       "arXiv id)",
    "page-hostile": "ok  page-hostile: 3 entries, 3 new, 0 updated, 0 unchanged",
    "feed-charrefs": "ok  feed-charrefs: 2 entries, 2 new, 0 updated, 0 unchanged",
    "feed-raw-control": "ok  feed-raw-control: 1 entries, 1 new, 0 updated, 0 unchanged; "
                        "1 control byte dropped (at offset 100)",
    "feed-raw-nul": "ok  feed-raw-nul: 3 entries, 3 new, 0 updated, 0 unchanged; 1 byte that is "
                    "not UTF-8 replaced by U+FFFD (at offset 348); 1 control byte dropped (at "
                    "offset 237)",
    "api-huge": f"ok  api-huge: 2 entries, 1 new, 0 updated, 0 unchanged, 1 skipped (item 0: "
                f"{HUGE}: title longer than 500 characters)",
    "page-huge": f"ok  page-huge: 2 entries, 0 new, 0 updated, 1 unchanged, 1 skipped (item 0: "
                 f"{HUGE}: title longer than 500 characters)",
    "feed-huge": f"ok  feed-huge: 2 entries, 0 new, 0 updated, 1 unchanged, 1 skipped (entry 0: "
                 f"{HUGE}: title longer than 500 characters)",
    "text-controls": "ok  text-controls: 2 entries, 2 new, 0 updated, 0 unchanged",
    "text-bad-utf8": "ok  text-bad-utf8: 1 entries, 1 new, 0 updated, 0 unchanged; 3 bytes "
                     "that are not UTF-8 replaced by U+FFFD (at offsets 127, 128, 134)",
    "text-nul-bad-byte": "ok  text-nul-bad-byte: 3 entries, 3 new, 0 updated, 0 unchanged; 1 "
                         "byte that is not UTF-8 replaced by U+FFFD (at offset 230); 1 control "
                         "byte dropped (at offset 49)",
    "text-long-title": "ok  text-long-title: 2 entries, 2 new, 0 updated, 0 unchanged",
    "text-huge": f"ok  text-huge: 3 entries, 0 new, 0 updated, 1 unchanged, 2 skipped (entry "
                 f"{HUGE}: title longer than 500 characters)",
    "good-text": "ok  good-text: 2 entries, 2 new, 0 updated, 0 unchanged",
    "good-api": "ok  good-api: 3 entries, 3 new, 0 updated, 0 unchanged",
}


def test_the_hostile_corpus_through_every_kind(
    site: Site, tmp_path: Path, database_url: str, open_db: Callable[..., Engine]
) -> None:
    specs = corpus(site, tmp_path)
    config = write_config(tmp_path / "newsletter.toml", database_url, specs)
    started = time.monotonic()
    code, lines = fetch(config)
    assert time.monotonic() - started < 60  # a real server: a hang would last until the timeout
    assert code == 0  # a bad byte costs a character, never the page
    assert lines == [*EXPECTED.values(), f"{len(EXPECTED)} sources, 31 new papers, 0 failed"]
    engine = open_db()
    with engine.connect() as conn:
        stored = {p.title: p for p in list_papers(conn)}
    assert len(stored) == 31
    for paper in stored.values():
        for text in (paper.title, paper.abstract, paper.url, paper.ai_summary or "",
                     *paper.authors, *paper.ai_keywords):
            assert is_clean(text), ascii(text)
        assert len(paper.key) <= KEY_CHARS
    assert "Lone \ufffd Surrogates in Paper Titles" in stored
    assert "NullTerminated Titles Considered Harmful" in stored  # SQLite used to cut at the NUL
    assert {"Page \ufffd Surrogate Title", "PageNUL Title"} <= stored.keys()
    assert "Surrogate \ufffd and NUL in a Feed Title" in stored
    every = stored["Escape [31mSequences[0m and C1 Controls"]
    assert every.abstract == "Abstract with NUL, BEL, DEL, CSI and a lone \ufffd. Second line."
    assert every.authors == ("Eve Null", "Mal\ufffdlory") and every.upvotes is None
    assert every.ai_summary is None and every.ai_keywords == ("key", "\U0001f600 emoji")
    assert "Caf\u00e9 Normalization Test" in stored  # NFC: one code point
    assert "Controlled [1mBold[0m Title With C1 Break" in stored
    long_title = next(t for t in stored if t.startswith("Extremely Long"))
    assert long_title.endswith("Long…") and len(long_title) < 300
    assert {"A Snapshot Title With a NUL Inside", "Raw NUL in a Feed Title", "Raw Control",
            "First Feed Paper", "Third Feed Paper", "Third Snapshot Paper Kept Whole"
            } <= stored.keys()
    assert stored["Broken Title"].abstract == "An abstract with Latin-1 bytes \ufffd\ufffd and " \
        "\ufffd inside."
    assert {"A Good Snapshot Paper About Robust Parsing", "Another Good Snapshot Paper",
            "A Plain Paper After the Huge Title", "A Plain Title Beside the Long One",
            } <= stored.keys()


def test_a_hostile_corpus_fetched_twice_changes_nothing(
    site: Site, tmp_path: Path, database_url: str, open_db: Callable[..., Engine]
) -> None:
    """Cleaning gives every sighting the same paper: the long title is cut the same way."""
    specs = [s for s in corpus(site, tmp_path) if s["name"] in {
        "api-every-field", "page-hostile", "feed-charrefs", "text-controls", "text-long-title"}]
    config = write_config(tmp_path / "newsletter.toml", database_url, specs)
    assert fetch(config)[0] == 0
    code, lines = fetch(config)
    assert code == 0
    assert lines[-1] == "5 sources, 0 new papers, 0 failed"
    assert all(" 0 new, 0 updated," in line for line in lines[:-1])


# --- local files: only regular ones, under the byte cap -----------------------------------------

@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path / "newsletter.toml", f"sqlite:///{tmp_path / 'db.sqlite'}", [],
                        fetch="max_bytes = 1000")


@pytest.mark.timeout(30)
def test_dev_zero_is_one_line_and_quick(config_file: Path, tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    started = time.monotonic()
    good = str(tmp_path / "good.txt")
    code, lines = fetch(config_file, "--source", "/dev/zero", "--source", good)
    assert time.monotonic() - started < 5  # a real device: reading it whole would never end
    assert code == 1
    assert lines == [
        "failed  /dev/zero: not a regular file but a character device",
        f"ok  {tmp_path / 'good.txt'}: 2 entries, 2 new, 0 updated, 0 unchanged",
        "2 sources, 2 new papers, 1 failed",
    ]


@pytest.mark.timeout(30)
def test_a_fifo_is_refused_without_waiting(config_file: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    started = time.monotonic()
    code, lines = fetch(config_file, "--source", str(fifo))
    assert time.monotonic() - started < 5  # a real FIFO: opening it would wait for a writer
    assert (code, lines[0]) == (1, f"failed  {fifo}: not a regular file but a FIFO (named pipe)")


@pytest.mark.timeout(30)
def test_a_socket_a_symlink_to_a_device_and_a_big_file(config_file: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 1001)
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    with tempfile.TemporaryDirectory(dir="/tmp") as short, \
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        sock = Path(short) / "s.txt"
        server.bind(str(sock))
        code, lines = fetch(config_file, "--source", str(sock), "--source",
                            str(tmp_path / "zero.txt"), "--source", str(big))
    assert code == 1
    assert lines == [
        f"failed  {sock}: not a regular file but a socket",
        f"failed  {tmp_path / 'zero.txt'}: not a regular file but a character device",
        f"failed  {big}: file is larger than max_bytes 1000",
        "3 sources, 0 new papers, 3 failed",
    ]


def test_read_file_reads_up_to_the_cap_whatever_the_file_claims(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"y" * 1000)
    assert read_file(path, 1000, "f") == b"y" * 1000
    with pytest.raises(SourceError, match=r"^f: file is larger than max_bytes 999$"):
        read_file(path, 999, "f")
    with pytest.raises(SourceError, match=r"^d: not a regular file but a directory$"):
        read_file(tmp_path, 10, "d")
    with pytest.raises(SourceError, match=r"^n: cannot read file: No such file or directory$"):
        read_file(tmp_path / "nope", 10, "n")
    with pytest.raises(SourceError, match=r"^z: cannot read file: embedded null byte$"):
        read_file(Path("a\x00b"), 10, "z")


# --- a server that trickles: an overall deadline per try ----------------------------------------

def trickle(site: Site, total: int = 100) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        for _ in range(total):
            if site.stop.wait(0.3):
                return
            yield b"x"
    return chunks


@pytest.mark.timeout(30)
def test_a_trickling_body_ends_at_the_deadline(site: Site, make_config: Callable[..., Config]
                                               ) -> None:
    url = site.route("/slow", Reply(chunks=trickle(site)))
    config = make_config({"fetch": {"timeout": 0.5, "retries": 0}})
    started = time.monotonic()
    with Fetcher(config.fetch) as fetcher, pytest.raises(SourceError) as caught:
        fetcher.get(url, "slow")
    elapsed = time.monotonic() - started
    # Real sockets: the deadline is 3 times the timeout (1.5 s), and without it the trickle
    # would last 30 s; 6 s leaves a loaded 2-core machine room.
    assert 1.4 < elapsed < 6
    assert str(caught.value) == (
        "slow: timed out: no complete response within 1.5 s (gave up after 1 try)")


@pytest.mark.slow
@pytest.mark.timeout(30)
def test_a_trickling_head_ends_at_the_deadline_and_is_retried(
    make_config: Callable[..., Config]
) -> None:
    """A raw server that sends its status line and headers a byte at a time."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Padding: " + b"p" * 100
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    tries: list[float] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            tries.append(time.monotonic())
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    def drip(conn: socket.socket) -> None:
        with conn:
            for i in range(len(head)):
                if stop.wait(0.3):
                    return
                try:
                    conn.sendall(head[i : i + 1])
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()
    config = make_config({"fetch": {"timeout": 0.5, "retries": 1, "backoff": 0}})
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/feed"
    try:
        started = time.monotonic()
        with Fetcher(config.fetch) as fetcher, pytest.raises(SourceError) as caught:
            fetcher.get(url, "drip")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
    assert str(caught.value) == (
        "drip: timed out: no complete response within 1.5 s (gave up after 2 tries)")
    # Real sockets: two tries of 1.5 s each, where one without a deadline lasts over 30 s.
    assert len(tries) == 2 and 2.9 < elapsed < 9


@pytest.mark.timeout(60)
def test_a_trickling_source_does_not_hold_up_the_next(
    site: Site, make_config: Callable[..., Config], open_db: Callable[..., Engine]
) -> None:
    config = make_config({"fetch": {"timeout": 0.5, "retries": 0}})
    slow = SourceSettings(name="slow", kind="feed", url=site.route(
        "/slow", Reply(chunks=trickle(site))))
    good = SourceSettings(name="rss", kind="feed", url=site.route(
        "/rss", Reply(body=(SOURCES / "arxiv_rss.xml").read_bytes())))
    engine = open_db()
    started = time.monotonic()
    with Fetcher(config.fetch) as fetcher:
        reports = ingest.ingest(engine, config, [slow, good], fetcher, NOW)
    # Real sockets: the slow source gives up at 1.5 s, where it would trickle on for 30 s.
    assert time.monotonic() - started < 8
    assert [(r.status, r.error) for r in reports] == [
        ("failed", "timed out: no complete response within 1.5 s (gave up after 1 try)"),
        ("ok", ""),
    ]


# --- hostile names, and surprises inside a parser or the store ----------------------------------

def run(engine: Engine, config: Config, specs: list[SourceSettings]) -> list[SourceReport]:
    with Fetcher(config.fetch, sleep=lambda _s: None) as fetcher:
        return ingest.ingest(engine, config, specs, fetcher, NOW)


def test_file_names_that_are_not_text(
    tmp_path: Path, make_config: Callable[..., Config], open_db: Callable[..., Engine]
) -> None:
    """A name with bytes that are not UTF-8 (a lone surrogate in Python) or an escape sequence."""
    names = [os.fsdecode(b"snap-\xff.txt"), "snap-\x1b[31m-red\nline.txt"]
    for i, name in enumerate(names):
        (tmp_path / name).write_text(GOOD_TEXT.replace("Good", f"Good {i}"), encoding="utf-8")
    engine = open_db()
    reports = run(engine, make_config(), [SourceSettings(name=n, path=n) for n in names])
    assert [(r.status, r.source) for r in reports] == [
        ("ok", "snap-\ufffd.txt"), ("ok", "snap-[31m-red line.txt")]
    with engine.connect() as conn:
        assert count_papers(conn) == 4


def test_a_name_longer_than_the_state_column(
    site: Site, make_config: Callable[..., Config], open_db: Callable[..., Engine]
) -> None:
    """fetch_state.source holds 500 characters: a longer URL keeps its own validators."""
    def versioned(headers: dict[str, str], _path: str) -> Reply:
        if headers.get("If-None-Match") == '"v1"':
            return Reply(304, headers={"ETag": '"v1"'})
        return Reply(body=(SOURCES / "arxiv_rss.xml").read_bytes(), headers={"ETag": '"v1"'})

    base = site.route("/rss", versioned)
    specs = [SourceSettings(kind="feed", url=f"{base}?q={c * 600}") for c in "ab"]
    engine = open_db()
    config = make_config({"fetch": {"timeout": 2}})
    assert [r.status for r in run(engine, config, specs)] == ["ok", "ok"]
    assert [r.status for r in run(engine, config, specs)] == ["not-modified", "not-modified"]
    with engine.connect() as conn:
        key = ingest.state_key(specs[0].url)
        assert len(key) == 500 and load_validators(conn, key) is not None


def test_an_unforeseen_parser_error_is_that_sources_line(
    site: Site, make_config: Callable[..., Config], open_db: Callable[..., Engine],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(_body: bytes, _ctx: object) -> None:
        raise RuntimeError("parser exploded\nwith a second line")

    monkeypatch.setitem(registry.KINDS, "hf-page",
                        dataclasses.replace(registry.KINDS["hf-page"], parse=boom))
    broken = SourceSettings(name="broken", kind="hf-page", url=site.route("/p", Reply(body=b"x")))
    good = SourceSettings(name="rss", kind="feed", url=site.route(
        "/rss", Reply(body=(SOURCES / "arxiv_rss.xml").read_bytes())))
    engine = open_db()
    reports = run(engine, make_config(), [broken, good])
    assert [(r.status, r.error) for r in reports] == [
        ("failed", "unexpected RuntimeError: parser exploded"), ("ok", "")]


def test_a_store_that_fails_is_that_sources_line(
    site: Site, make_config: Callable[..., Config], open_db: Callable[..., Engine],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ingest.upsert_papers
    calls: list[str] = []

    def flaky(conn: object, papers: object, source: str, now: datetime) -> object:
        calls.append(source)
        if source == "first":
            raise MemoryError
        return real(conn, papers, source, now)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest, "upsert_papers", flaky)
    rss = (SOURCES / "arxiv_rss.xml").read_bytes()
    specs = [SourceSettings(name=n, kind="feed", url=site.route(f"/{n}", Reply(body=rss)))
             for n in ("first", "second")]
    engine = open_db()
    reports = run(engine, make_config(), specs)
    assert [(r.status, r.error, r.counts.new) for r in reports] == [
        ("failed", "unexpected MemoryError", 0), ("ok", "", 2)]


def test_a_database_that_fails_still_reports_every_source(
    site: Site, make_config: Callable[..., Config], open_db: Callable[..., Engine],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_args: object, **_kw: object) -> None:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(ingest, "save_state", down)
    rss = (SOURCES / "arxiv_rss.xml").read_bytes()
    specs = [SourceSettings(name=n, kind="feed", url=site.route(f"/{n}", Reply(body=rss)))
             for n in ("a", "b")]
    reports = run(open_db(), make_config(), specs)
    assert [(r.status, r.error) for r in reports] == [
        ("failed", "unexpected ConnectionError: the database went away")] * 2


def test_load_papers_cleans_and_reports_in_one_line(tmp_path: Path,
                                                    make_config: Callable[..., Config]) -> None:
    (tmp_path / "c.txt").write_bytes(hostile("text_controls.txt"))
    errors: list[SourceError] = []
    papers = reading.load_papers([str(tmp_path / "c.txt"), "/dev/zero"], make_config(),
                                 NOW.date(), errors.append)
    assert papers[0].title == "Controlled [1mBold[0m Title With C1 Break"
    assert [str(e) for e in errors] == ["/dev/zero: not a regular file but a character device"]


# --- the cleaning step itself -------------------------------------------------------------------

def test_clean_text_rules() -> None:
    assert clean_text("a\ud800b\ud83d\ude00c") == "a\ufffdb\U0001f600c"  # pair joined, lone one not
    assert clean_text(" x\x00y\x1b\x7f\x9f\tz\r\nw\x0cv ") == "xy\tz\nw\nv"
    assert clean_text("e\u0301 \u2028 f", one_line=True) == "\u00e9 f"
    assert clean_line("one\ntwo\r\n\tthree") == "one two three"
    assert fit("x" * 499, 500) == "x" * 499
    assert len(fit("x" * 600, 500)) == 500 and fit("x" * 600, 500) != fit("x" * 601, 500)


def test_clean_paper_skips_what_cannot_be_a_paper() -> None:
    assert clean_paper(Paper("\x00\x01", "abstract")) == (
        "paper untitled: no title (after removing control characters)")
    assert clean_paper(Paper("T", "\x00", arxiv_id="2601.00001")) == (
        "paper 'T': no abstract (after removing control characters)")
    assert clean_paper(Paper("T", "a", arxiv_id="2601.00001\n")) == Paper(
        "T", "a", arxiv_id="2601.00001")
    assert clean_paper(Paper("T", "a", arxiv_id="x" * 40)) == (
        f"paper 'T': {'x' * 40!r} is not an arXiv id")
    assert clean_paper(Paper("T", "a", upvotes=2**31, author_count=-1)) == Paper("T", "a")


def test_a_long_title_is_cut_after_a_word_to_fit_the_key() -> None:
    title = "Word " * 100
    cut = fit_title(title.strip())
    assert cut.endswith("Word…") and len(Paper(cut, "a").key) <= KEY_CHARS
    assert fit_title(cut) == cut
    assert fit_title("A" * 294) == "A" * 294 and fit_title("A" * 295) == "A" * 294 + "…"
    expanding = "\ufdfa" * 30  # one character that NFKD makes 18
    assert len(Paper(fit_title(expanding), "a").key) <= KEY_CHARS


def test_the_store_refuses_keys_its_columns_cannot_hold_on_every_database() -> None:
    with pytest.raises(ValueError, match="too long for the store"):
        to_row(Paper("A" * 300, "a"))
    with pytest.raises(ValueError, match="too long for the store"):
        to_row(Paper("A", "a", arxiv_id="1" * 33))


hostile_text = st.text(st.characters() | st.sampled_from(
    ["\ud800", "\udfff", "\ud83d", "\ude00", "\x00", "\x1b", "\x85", "\x9b", "\u2028", "\r",
     "\u0301", "\ufdfa", "\t", "\n", " "]), max_size=400)


@settings(max_examples=300, deadline=None, database=None)
@given(title=hostile_text, abstract=hostile_text, author=hostile_text,
       arxiv=st.none() | st.sampled_from(["2601.00001", " 2601.00001 ", "x"]),
       count=st.none() | st.integers(-10, 2**40))
def test_whatever_goes_in_a_cleaned_paper_fits_the_store(
    title: str, abstract: str, author: str, arxiv: str | None, count: int | None
) -> None:
    result = clean_paper(Paper(title, abstract, arxiv_id=arxiv, url=author, authors=(author,),
                               upvotes=count, ai_summary=abstract, ai_keywords=(author,)))
    if isinstance(result, str):
        assert is_clean(result) and "\n" not in result
        return
    for text in (result.title, result.abstract, result.url, *result.authors):
        assert is_clean(text) and text == text.strip()
    assert "\n" not in result.title and "\t" not in result.title
    assert len(result.key) <= KEY_CHARS and result.title and result.abstract
    assert result.upvotes is None or 0 <= result.upvotes < 2**31
    assert clean_paper(result) == result  # a second pass changes nothing


# --- feed character references ------------------------------------------------------------------

@pytest.mark.parametrize(("ref", "mended"), [
    (b"&#xD800;", b"&#xFFFD;"), (b"&#56320;", b"&#xFFFD;"), (b"&#0;", b""), (b"&#x1b;", b""),
    (b"&#x110000;", b"&#xFFFD;"), (b"&#" + b"9" * 5000 + b";", b"&#xFFFD;"),
    (b"&#xFFFE;", b"&#xFFFD;"), (b"&#9;", b"&#9;"), (b"&#233;", b"&#233;"),
    (b"&#x1F600;", b"&#x1F600;"), (b"&#x85;", b"&#x85;"),
])
def test_feed_character_references_xml_cannot_hold_are_mended(ref: bytes, mended: bytes) -> None:
    assert feed._mend_charrefs(b"<t>a" + ref + b"b</t>") == b"<t>a" + mended + b"b</t>"

