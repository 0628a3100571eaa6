"""Liked papers that no source brought are looked up once in the arXiv API (a loopback fake
here, answering as export.arxiv.org does) and then serve "more like these"."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.engine import Engine

from newsletter.app.arxiv_lookup import look_up
from newsletter.app.issue import history
from newsletter.config import FetchSettings
from newsletter.models import Paper, Subscriber, normalize_title
from newsletter.sources.arxiv_api import ArxivApi
from newsletter.sources.http import Fetcher
from newsletter.store.history import reference_papers
from newsletter.store.papers import upsert_papers
from tests.sources.http_site import Reply, Site

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
KNOWN = {
    "2306.17670": ("Learning Delays in Spiking Neural Networks", "Spiking networks learn delays."),
    "2308.10873": ("Unleashing Spiking Neural Networks", "Dynamic confidence for SNNs."),
}


def atom(ids: list[str]) -> bytes:
    """An arXiv API answer: an entry per known id, an error entry per unknown one."""
    entries = []
    for i in ids:
        if i in KNOWN:
            title, summary = KNOWN[i]
            entries.append(
                f"<entry><id>http://arxiv.org/abs/{i}v1</id><title>{title}</title>"
                f"<summary>{summary}</summary><link href='http://arxiv.org/abs/{i}v1'/>"
                "<author><name>A. Author</name></author></entry>"
            )
        else:
            entries.append(
                "<entry><id>http://arxiv.org/api/errors#incorrect_id_format</id>"
                "<title>Error</title><summary>incorrect id format</summary></entry>"
            )
    return (
        "<?xml version='1.0' encoding='UTF-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
        f"<title>ArXiv Query</title>{''.join(entries)}</feed>"
    ).encode()


def api(headers: dict[str, str], path: str) -> Reply:
    ids = parse_qs(urlsplit(path).query)["id_list"][0].split(",")
    return Reply(body=atom(ids), headers={"Content-Type": "application/atom+xml"})


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(FetchSettings(retries=1, backoff=0.01, timeout=5)) as f:
        yield f


def reader(*ids: str, library: tuple[str, ...] = ()) -> Subscriber:
    return Subscriber(email="ada@example.org", topics=(), papers=ids, library=library)


def test_liked_ids_are_fetched_once_and_then_serve_as_references(
    site: Site, fetcher: Fetcher, open_db: Callable[..., Engine]
) -> None:
    url = site.route("/api/query", api)
    engine = open_db()
    ada = reader("2306.17670", library=("arxiv:2308.10873", "arxiv:9999.99999", "title:x"))
    report = look_up(engine, ArxivApi(fetcher, url), [ada], NOW)
    assert (report.asked, report.found, report.error) == (3, 2, "")
    assert len(site.seen("/api/query")) == 1
    again = look_up(engine, ArxivApi(fetcher, url), [ada], NOW)
    assert again.asked == 0 and len(site.seen("/api/query")) == 1  # asked once, unknown too
    with engine.connect() as conn:
        refs = reference_papers(conn, ada, {})
    assert sorted(refs) == ["arxiv:2306.17670", "arxiv:2308.10873"]
    assert refs["arxiv:2306.17670"].abstract == "Spiking networks learn delays."


@pytest.mark.parametrize(
    ("reply", "tries", "problem"),
    [
        (Reply(status=503), 2, "arXiv API: HTTP 503"),  # retried once, then given up
        (Reply(status=404), 1, "arXiv API: HTTP 404"),
        (Reply(body=b"<html>maintenance</html>"), 1, "arXiv API: "),
        pytest.param(  # slower than the timeout
            Reply(body=b"x" * 10, delay=2.0), 2, "arXiv API: ", marks=pytest.mark.slow
        ),
    ],
)
def test_a_failing_api_is_one_line_and_asked_again_next_time(
    site: Site,
    open_db: Callable[..., Engine],
    reply: Reply,
    tries: int,
    problem: str,
) -> None:
    url = site.route("/api/query", *[reply] * tries, api)
    fetcher = Fetcher(FetchSettings(retries=1, backoff=0.01, timeout=1))
    engine = open_db()
    first = look_up(engine, ArxivApi(fetcher, url), [reader("2306.17670")], NOW)
    assert first.error.startswith(problem) and "\n" not in first.error
    assert first.describe().startswith("liked papers looked up in the arXiv API: 1 asked, 0 found;")
    assert "stopped: arXiv API" in first.describe()
    second = look_up(engine, ArxivApi(fetcher, url), [reader("2306.17670")], NOW)
    fetcher.close()
    assert (second.asked, second.found, second.error) == (1, 1, "")


def test_a_library_only_readers_history_holds_their_stored_papers(
    open_db: Callable[..., Engine],
) -> None:
    """A run matches today's candidates against the reader's library as stored (papers of
    earlier days, papers fetched from the arXiv API), not only against today's candidates."""
    engine = open_db()
    old = Paper("Learning Delays in Spiking Neural Networks", "Spiking networks learn delays.")
    with engine.begin() as conn:
        upsert_papers(conn, [old], "an earlier page", NOW)
    ada = reader(library=(f"arxiv:2306.17670|title:{normalize_title(old.title)}",))
    with engine.connect() as conn:
        past = history(conn, [ada], NOW)
    assert past.references is not None
    assert [p.title for p in past.references.values()] == [old.title]


@pytest.mark.slow
def test_a_library_only_reader_gets_papers_like_their_library(
    seeds_dir: Path, tmp_path: Path, site: Site
) -> None:
    """The acceptance case end to end through ``newsletter match``: three spiking-network
    papers in a .bib file, no topics. Two carry their arXiv ids (an eprint, an arXiv DOI), as
    Zotero exports do; the seed pages store no ids and the arXiv API is down, so they are
    found by title all the same."""
    from click.testing import CliRunner

    from newsletter.cli import cli

    bib = tmp_path / "subscribers" / "library.bib"
    bib.parent.mkdir()
    bib.write_text(
        "@article{a, title={Learning Delays in Spiking Neural Networks using Dilated Convolutions"
        " with Learnable Spacings}, eprint={2306.17670}}\n"
        "@article{b, title={Unleashing the Potential of Spiking Neural Networks by Dynamic"
        " Confidence}, doi={10.48550/arXiv.2308.10873}}\n"
        "@article{c, title={Astrocyte-Enabled Advancements in Spiking Neural Networks for Large"
        " Language Modeling}}\n"
    )
    (bib.parent / "lib.toml").write_text('email = "lib@example.org"\nlibrary = "library.bib"\n')
    seeds = "\n".join(f'[[sources]]\npath = "{p}"\n' for p in sorted(seeds_dir.glob("*.txt")))
    down = site.route("/api/query", *[Reply(status=503)] * 4)
    (tmp_path / "newsletter.toml").write_text(
        f'[newsletter]\ndatabase_url = "sqlite:///{tmp_path / "n.db"}"\n'
        f'[match]\narxiv_api = "{down}"\n[fetch]\nretries = 1\nbackoff = 0.01\n{seeds}'
    )
    run = CliRunner(env={"NEWSLETTER_ARXIV_API": None}).invoke  # the file's address, not "off"
    config = ["--config", str(tmp_path / "newsletter.toml")]
    assert run(cli, [*config, "fetch"]).exit_code == 0
    result = run(cli, [*config, "match", "--subscriber", str(bib.parent / "lib.toml")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line[:4].strip().endswith(".")]
    spiking = [
        any(w in line.lower() for w in ("spik", "neuromorph", "liquid state")) for line in lines
    ]
    assert len(lines) >= 5 and all(spiking[:3]) and sum(spiking) >= 4, result.output
    assert "similar to a paper you liked" in result.output
    assert "3 of 3 found" in result.output
    assert "2 asked, 0 found; stopped: arXiv API: HTTP 503" in result.output
    assert not any("Learning Delays in Spiking" in line for line in lines)  # the reader has it
