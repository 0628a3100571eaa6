"""Remote sources over real HTTP on 127.0.0.1: paging, conditional GET, retries and failures.

Every failure must be one line naming the source, leave the other sources running and store
nothing from the failed source.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from newsletter.app.ingest import SourceReport, ingest
from newsletter.config import Config, SourceSettings
from newsletter.errors import SourceError
from newsletter.sources.http import Fetcher
from newsletter.store.fetch_state import load_validators
from newsletter.store.papers import count_papers, list_papers

from .http_site import Reply, Site

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"
NOW = datetime(2026, 1, 13, 9, 0, tzinfo=UTC)
FETCH = {"timeout": 0.4, "retries": 2, "backoff": 0.01, "max_bytes": 50_000}
JSON = {"Content-Type": "application/json"}
XML = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html"}


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture
def engine(open_db: Callable[..., Engine]) -> Engine:
    return open_db()


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config({"fetch": FETCH})


def run(engine: Engine, config: Config, specs: list[SourceSettings],
        waits: list[float] | None = None) -> list[SourceReport]:
    with Fetcher(config.fetch, sleep=(waits if waits is not None else []).append) as fetcher:
        return ingest(engine, config, specs, fetcher, NOW)


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return count_papers(conn)


def good_feed(site: Site) -> SourceSettings:
    return SourceSettings(name="rss", kind="feed",
                          url=site.route("/rss", Reply(body=read("arxiv_rss.xml"), headers=XML)))


# --- the happy paths --------------------------------------------------------------------------

def api_pages(headers: dict[str, str], path: str) -> Reply:
    page = "hf_api_page2.json" if "p=1" in path else "hf_api_page1.json"
    return Reply(body=read(page), headers=JSON)


def test_hf_api_pages_with_limit_and_p(site: Site, engine: Engine, config: Config) -> None:
    spec = SourceSettings(name="hf", kind="hf-api", url=site.route("/api/daily_papers", api_pages),
                          date="2026-01-13", limit=3)
    (report,) = run(engine, config, [spec])
    assert report.status == "ok", report.error
    assert (report.entries, report.counts.new) == (5, 4)
    assert report.skipped == ("item 1: 'A Placeholder Entry Without Any Abstract': no abstract",)
    paths = [r.path for r in site.seen("/api/daily_papers")]
    assert paths == ["/api/daily_papers?date=2026-01-13&limit=3",
                     "/api/daily_papers?date=2026-01-13&limit=3&p=1"]
    assert site.requests[0].headers["User-Agent"].startswith("newsletter/")
    with engine.connect() as conn:
        lantern = next(p for p in list_papers(conn) if p.arxiv_id == "2601.10001")
    assert lantern.ai_keywords[0] == "chain of thought" and lantern.upvotes == 42
    assert lantern.ai_summary and lantern.authors[0] == "Mirela Osei"


def test_hf_api_paging_stops_at_max_pages(site: Site, engine: Engine, config: Config) -> None:
    url = site.route("/api/daily_papers", Reply(body=read("hf_api_page1.json"), headers=JSON))
    spec = SourceSettings(name="hf", kind="hf-api", url=url, limit=3, max_pages=2)
    (report,) = run(engine, config, [spec])
    assert report.status == "ok" and report.entries == 6 and report.counts.new == 3
    assert len(site.seen("/api/daily_papers")) == 2


def test_page_and_feeds_ingest_and_merge(site: Site, engine: Engine, config: Config) -> None:
    specs = [
        SourceSettings(name="page", kind="hf-page", url=site.route(
            "/papers", Reply(body=read("hf_page_daily.html"), headers=HTML))),
        good_feed(site),
        SourceSettings(name="atom", url=site.route(
            "/daily.atom", Reply(body=read("daily_atom.xml")))),
    ]
    reports = run(engine, config, specs)
    assert [r.status for r in reports] == ["ok", "ok", "ok"]
    assert [r.counts.new for r in reports] == [3, 2, 1]  # the Atom feed repeats Lantern
    assert reports[2].counts.unchanged == 1
    assert stored(engine) == 6
    again = run(engine, config, specs)
    assert sum(r.counts.new + r.counts.updated for r in again) == 0


# --- conditional GET --------------------------------------------------------------------------

def versioned(etag: str) -> Callable[[dict[str, str], str], Reply]:
    def reply(headers: dict[str, str], _path: str) -> Reply:
        if headers.get("If-None-Match") == etag:
            return Reply(304, headers={"ETag": etag})
        return Reply(body=read("arxiv_rss.xml"), headers={
            "ETag": etag, "Last-Modified": "Mon, 12 Jan 2026 10:00:00 GMT", **XML})
    return reply


def test_conditional_get_costs_nothing(site: Site, engine: Engine, config: Config) -> None:
    spec = SourceSettings(name="rss", kind="feed", url=site.route("/rss", versioned('"v1"')))
    (first,) = run(engine, config, [spec])
    assert first.status == "ok" and first.counts.new == 2
    (second,) = run(engine, config, [spec])
    assert second.status == "not-modified" and second.entries == 0
    assert second.counts.new == second.counts.updated == second.counts.unchanged == 0
    sent = site.seen("/rss")[1].headers
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Mon, 12 Jan 2026 10:00:00 GMT"
    site.route("/rss", versioned('"v2"'))
    (third,) = run(engine, config, [spec])
    assert third.status == "ok" and third.counts.unchanged == 2
    with engine.connect() as conn:
        assert load_validators(conn, "rss").etag == '"v2"'  # type: ignore[union-attr]


# --- retries ----------------------------------------------------------------------------------

def test_429_waits_as_told_then_succeeds(site: Site, engine: Engine, config: Config) -> None:
    spec = good_feed(site)
    site.route("/rss", Reply(429, headers={"Retry-After": "7"}),
               Reply(body=read("arxiv_rss.xml"), headers=XML))
    waits: list[float] = []
    (report,) = run(engine, config, [spec], waits)
    assert report.status == "ok" and report.counts.new == 2
    assert waits == [7.0]


def test_429_asking_too_long_gives_up(site: Site, engine: Engine, config: Config) -> None:
    spec = good_feed(site)
    site.route("/rss", Reply(429, headers={"Retry-After": "3600"}))
    (report,) = run(engine, config, [spec])
    assert report.status == "failed"
    assert report.error == "server asks to retry after 3600 s; giving up"


def test_500_then_success_backs_off(site: Site, engine: Engine, config: Config) -> None:
    spec = good_feed(site)
    site.route("/rss", Reply(500), Reply(503), Reply(body=read("arxiv_rss.xml"), headers=XML))
    waits: list[float] = []
    (report,) = run(engine, config, [spec], waits)
    assert report.status == "ok" and report.counts.new == 2
    assert len(waits) == 2 and 0.01 <= waits[0] <= 0.015 and 0.02 <= waits[1] <= 0.03


def test_500_forever_fails_after_all_tries(site: Site, engine: Engine, config: Config) -> None:
    spec = good_feed(site)
    site.route("/rss", Reply(500))
    (report,) = run(engine, config, [spec])
    assert report.error == "HTTP 500 (gave up after 3 tries)"
    assert len(site.seen("/rss")) == 3


def test_timeout_then_success(site: Site, engine: Engine, config: Config) -> None:
    spec = good_feed(site)
    site.route("/rss", Reply(delay=5), Reply(body=read("arxiv_rss.xml"), headers=XML))
    (report,) = run(engine, config, [spec])
    assert report.status == "ok" and report.counts.new == 2


# --- failures: one line naming the source, others still run, nothing stored -------------------

def big_stream(total: int) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        block = b"x" * 65536
        for _ in range(total // len(block)):
            yield block
    return chunks


def bad(status: int = 200, body: bytes = b"", **kw: Any) -> Reply:
    return Reply(status, body, **kw)


FAILURES = [
    ("hf-api", bad(body=b"<!DOCTYPE html><html><body>Service unavailable</body></html>"),
     "got an HTML page, expected JSON"),
    ("hf-api", bad(body=read("hf_api_page1.json")[:700]), "truncated JSON"),
    ("hf-api", bad(), "empty response, expected JSON"),
    ("hf-api", bad(body=b"[" + bytes(range(256)) * 8), "binary data"),
    ("hf-api", bad(body='[{"title": "Ünïcode"}]'.encode("latin-1")), "not UTF-8 JSON"),
    ("hf-page", bad(body="<html><p>Caf\xe9</p></html>".encode("latin-1")), "not UTF-8 HTML"),
    ("hf-page", bad(body=b"<html><body>Sign in</body></html>"), 'no data-target="DailyPapers"'),
    ("feed", bad(body=read("arxiv_rss.xml")[:900]), "malformed or truncated XML"),
    ("feed", bad(body=b"<html><body>Rate limited</body></html>"), "not an RSS or Atom feed"),
    ("feed", bad(404, b"gone"), "HTTP 404 Not Found"),
    ("feed", bad(body=b"x" * 60_000), "response of 60000 bytes exceeds max_bytes 50000"),
    ("feed", bad(chunks=big_stream(200_000)), "response exceeds max_bytes 50000"),
    ("feed", bad(302, headers={"Location": "/broken"}), "too many redirects (a redirect loop?)"),
    ("feed", bad(delay=5), "timed out after 0.4 s (gave up after 3 tries)"),
    ("feed", bad(body=b"not gzip at all", headers={"Content-Encoding": "gzip"}),
     "cannot decode the response body"),
    ("feed", bad(301, headers={"Location": "ftp://127.0.0.1/feed"}), "unsupported URL scheme"),
]


@pytest.mark.parametrize(("kind", "reply", "message"), FAILURES,
                         ids=[f"{k}:{m[:30]}" for k, _, m in FAILURES])
def test_a_bad_source_fails_alone(site: Site, engine: Engine, config: Config,
                                  kind: str, reply: Reply, message: str) -> None:
    broken = SourceSettings(name="broken", kind=kind, url=site.route("/broken", reply))
    reports = run(engine, config, [broken, good_feed(site)])
    failed, ok = reports
    assert failed.status == "failed" and failed.source == "broken"
    assert failed.error.startswith(message), failed.error
    assert "\n" not in failed.error
    assert ok.status == "ok" and ok.counts.new == 2
    assert stored(engine) == 2  # nothing from the broken source


def test_a_50_mb_response_is_cut_off(site: Site) -> None:
    url = site.route("/huge", Reply(chunks=big_stream(50_000_000)))
    with Fetcher(Config(base_dir=Path("."), origin="t").fetch) as fetcher, \
            pytest.raises(SourceError) as caught:
        fetcher.get(url, "huge-source")
    assert str(caught.value) == "huge-source: response exceeds max_bytes 20000000"


def test_a_bad_second_page_stores_nothing(site: Site, engine: Engine, config: Config) -> None:
    def pages(headers: dict[str, str], path: str) -> Reply:
        if "p=1" in path:
            return Reply(body=b'[{"paper": {"id": "2601.1')
        return Reply(body=read("hf_api_page1.json"))

    spec = SourceSettings(name="hf", kind="hf-api", url=site.route("/api/daily_papers", pages),
                          limit=3)
    (report,) = run(engine, config, [spec])
    assert report.status == "failed" and report.error.startswith("truncated JSON")
    assert stored(engine) == 0


def test_fetch_command_names_the_failed_source_and_exits_1(site: Site, tmp_path: Path) -> None:
    good = site.route("/rss", Reply(body=read("arxiv_rss.xml"), headers=XML))
    broken = site.route("/api/daily_papers", Reply(body=b"<html><body>Oops</body></html>"))
    (tmp_path / "newsletter.toml").write_text(
        '[newsletter]\ndatabase_url = "sqlite:///papers.db"\n[fetch]\nretries = 0\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    done = subprocess.run(
        [sys.executable, "-m", "newsletter", "--config", str(tmp_path / "newsletter.toml"),
         "fetch", "--source", broken, "--source", good],
        capture_output=True, text=True, env=env | {"COLUMNS": "200"}, timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    assert f"{broken}: got an HTML page, expected JSON" in done.stdout
    assert "2 new" in done.stdout
