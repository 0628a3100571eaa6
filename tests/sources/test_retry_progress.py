"""Retries are told as they happen: one plain line per wait, to stderr in ``newsletter fetch``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.config import FetchSettings
from newsletter.errors import SourceError
from newsletter.sources.http import Fetcher

from .http_site import Reply, Site

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"
RSS = (DATA / "arxiv_rss.xml").read_bytes()
XML = {"Content-Type": "application/rss+xml"}


def test_each_retry_is_one_line_before_the_wait(site: Site) -> None:
    url = site.route(
        "/rss", Reply(503, headers={"Retry-After": "2"}), Reply(503), Reply(body=RSS, headers=XML)
    )
    lines: list[str] = []
    waits: list[float] = []
    settings = FetchSettings(retries=3, backoff=0.5)
    with Fetcher(settings, sleep=waits.append, on_retry=lines.append) as fetcher:
        assert fetcher.get(url, "rss").status == 200
    assert waits[0] == 2.0 and 1.0 <= waits[1] <= 1.5  # backoff 0.5 s, doubled
    assert lines == [
        f"{url}: HTTP 503, trying again in 2.0 s (try 2 of 4)",
        f"{url}: HTTP 503, trying again in {waits[1]:.1f} s (try 3 of 4)",
    ]


def test_no_line_after_the_last_try_and_none_without_a_callback(site: Site) -> None:
    url = site.route("/rss", Reply(500))
    lines: list[str] = []
    settings = FetchSettings(retries=1, backoff=0.01)
    gave_up = r"^rss: HTTP 500 \(gave up after 2 tries\)$"
    told = Fetcher(settings, sleep=lambda _s: None, on_retry=lines.append)
    with told, pytest.raises(SourceError, match=gave_up):
        told.get(url, "rss")
    assert lines == [f"{url}: HTTP 500, trying again in 0.0 s (try 2 of 2)"]
    quiet = Fetcher(settings, sleep=lambda _s: None)
    with quiet, pytest.raises(SourceError, match=gave_up):
        quiet.get(url, "rss")


def test_a_password_in_the_url_is_not_shown(site: Site) -> None:
    url = site.route("/rss", Reply(503), Reply(body=RSS, headers=XML))
    secret = url.replace("http://", "http://me:secretpw@")
    lines: list[str] = []
    settings = FetchSettings(backoff=0.01)
    with Fetcher(settings, sleep=lambda _s: None, on_retry=lines.append) as fetcher:
        fetcher.get(secret, "rss")
    assert lines == [f"{url}: HTTP 503, trying again in 0.0 s (try 2 of 4)"]


def test_fetch_prints_retries_to_stderr(site: Site, tmp_path: Path) -> None:
    url = site.route("/rss", Reply(503, headers={"Retry-After": "0"}), Reply(body=RSS, headers=XML))
    config = tmp_path / "newsletter.toml"
    config.write_text(
        '[newsletter]\ndatabase_url = "sqlite:///news.db"\n[fetch]\nretries = 3\n'
        f'[[sources]]\nname = "arxiv"\nurl = "{url}"\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "fetch"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [f"{url}: HTTP 503, trying again in 0.0 s (try 2 of 4)"]
    assert result.stdout.splitlines()[0].startswith("ok  arxiv: ")
