"""Stored papers' arXiv categories come from the arXiv API (a loopback fake here, answering as
export.arxiv.org does: Atom, ``arxiv:primary_category`` and a ``category`` per class), asked
once per paper in batches of at most 100 ids at least 3 s apart, and are read by matching."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from newsletter.app.arxiv_lookup import categories_line, categorise, look_up
from newsletter.cli import cli
from newsletter.config import FetchSettings
from newsletter.errors import ConfigError
from newsletter.match.lexical import LexicalIndex
from newsletter.models import Paper, Subscriber
from newsletter.sources import feed
from newsletter.sources.arxiv_api import INTERVAL, ArxivApi
from newsletter.sources.base import ParseContext
from newsletter.sources.http import Fetcher
from newsletter.store.paper_categories import not_asked
from newsletter.store.papers import list_papers, upsert_papers
from tests.sources.http_site import Reply, Site

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
WEEK = NOW - timedelta(days=7)
CLASSES = {"cs": ("cs.CL", "cs.LG"), "astro": ("astro-ph.EP", "physics.geo-ph")}


def arxiv_id(n: int) -> str:
    return f"2401.{n:05d}"


def entry(i: str, title: str, terms: tuple[str, ...] = ()) -> str:
    """An entry as the arXiv API gives it: the primary class, then a category per class."""
    scheme = "scheme='http://arxiv.org/schemas/atom'"
    cats = "".join(f"<category term='{escape(t)}' {scheme}/>" for t in terms)
    primary = f"<arxiv:primary_category term='{terms[0]}' {scheme}/>" if terms else ""
    return (
        f"<entry><id>http://arxiv.org/abs/{i}v2</id><title>{title}</title>"
        f"<summary>What paper {i} found.</summary><author><name>A. Author</name></author>"
        f"{primary}{cats}</entry>"
    )


def atom(entries: list[str]) -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?><feed xmlns='http://www.w3.org/2005/Atom' "
        "xmlns:arxiv='http://arxiv.org/schemas/atom'>"
        f"<title>ArXiv Query</title>{''.join(entries)}</feed>"
    ).encode()


def api(headers: dict[str, str], path: str) -> Reply:
    """Even ids are language papers, odd ones planetary science; ids from 90000 unknown."""
    ids = parse_qs(urlsplit(path).query)["id_list"][0].split(",")
    known = [i for i in ids if int(i[-5:]) < 90000]
    return Reply(body=atom([
        entry(i, f"Paper {i}", CLASSES["cs" if int(i[-5:]) % 2 == 0 else "astro"]) for i in known
    ]), headers={"Content-Type": "application/atom+xml"})


class Clock:
    """A clock that moves only when slept on, with each sleep recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


def store(engine: Engine, ids: list[str]) -> None:
    papers = [Paper(f"Paper {i}", f"What paper {i} found.", i) for i in ids]
    with engine.begin() as conn:
        for n, paper in enumerate(papers):  # each seen a minute later: newest is the last
            upsert_papers(conn, [paper], "a page", NOW + timedelta(minutes=n))


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(FetchSettings(retries=1, backoff=0.01, timeout=5)) as f:
        yield f


def client(site: Site, fetcher: Fetcher, clock: Clock) -> ArxivApi:
    return ArxivApi(fetcher, site.route("/api/query", api), sleep=clock.sleep, clock=clock.time)


def test_categories_are_asked_in_paced_batches_once_per_paper(
    site: Site, fetcher: Fetcher, open_db: Callable[..., Engine]
) -> None:
    engine = open_db()
    ids = [arxiv_id(n) for n in range(148)] + [arxiv_id(90000 + n) for n in range(2)]
    store(engine, ids)
    clock = Clock()
    report = categorise(engine, client(site, fetcher, clock), NOW)
    assert (report.asked, report.found, report.error) == (150, 148, "")
    asked = [parse_qs(urlsplit(r.path).query) for r in site.seen("/api/query")]
    assert [len(q["id_list"][0].split(",")) for q in asked] == [100, 50]
    assert [q["max_results"] for q in asked] == [["100"], ["50"]]
    assert asked[0]["id_list"][0].split(",")[0] == ids[-1]  # newest first
    assert clock.slept == [INTERVAL]  # the second request waited 3 s after the first ended
    with engine.connect() as conn:
        papers = {p.arxiv_id: p for p in list_papers(conn)}
        assert not_asked(conn, WEEK, 1000) == []  # the unknown ids too: asked once
    assert papers[arxiv_id(2)].categories == ("cs.CL", "cs.LG")
    assert papers[arxiv_id(3)].categories == ("astro-ph.EP", "physics.geo-ph")
    assert papers[arxiv_id(90000)].categories == ()
    again = categorise(engine, client(site, fetcher, Clock()), NOW)
    assert (again.asked, again.said, len(site.seen("/api/query"))) == (0, False, 2)


def test_a_source_seeing_the_paper_again_keeps_its_categories(
    site: Site, fetcher: Fetcher, open_db: Callable[..., Engine]
) -> None:
    engine = open_db()
    store(engine, [arxiv_id(4), arxiv_id(90001)])
    categorise(engine, client(site, fetcher, Clock()), NOW)
    longer = [Paper(f"Paper {i}", f"What paper {i} found, and more.", i)
              for i in (arxiv_id(4), arxiv_id(90001))]
    with engine.begin() as conn:
        assert upsert_papers(conn, longer, "another page", NOW).updated == 2
        assert not_asked(conn, WEEK, 10) == []  # "none found" is not forgotten either
        assert {p.arxiv_id: p.categories for p in list_papers(conn)}[arxiv_id(4)] == (
            "cs.CL", "cs.LG")


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (Reply(status=503), "arXiv API: HTTP 503"),
        (Reply(body=b"<html>maintenance</html>"), "arXiv API: not an RSS or Atom feed"),
    ],
)
def test_a_failing_api_stores_nothing_and_is_asked_again_next_run(
    site: Site, fetcher: Fetcher, open_db: Callable[..., Engine], reply: Reply, problem: str
) -> None:
    engine = open_db()
    store(engine, [arxiv_id(n) for n in range(3)])
    down = ArxivApi(fetcher, site.route("/api/query", reply), sleep=Clock().sleep)
    first = categorise(engine, down, NOW)
    assert first.error.startswith(problem) and "\n" not in first.error
    assert first.describe().startswith("paper categories looked up in the arXiv API: 3 asked, "
                                       "0 found; stopped: arXiv API")
    with engine.connect() as conn:
        assert len(not_asked(conn, WEEK, 10)) == 3
    second = categorise(engine, client(site, fetcher, Clock()), NOW)
    assert (second.asked, second.found, second.error) == (3, 3, "")


def test_hostile_category_terms_are_left_out(
    site: Site, fetcher: Fetcher, open_db: Callable[..., Engine]
) -> None:
    """Only codes of arXiv's archives are kept, at most twelve; other tags, markup and
    absurd lengths are not categories."""
    junk = ["machine-learning", "cs.<script>", "cs." + "A" * 500, "", "ftp://x", "DROP TABLE"]
    many = tuple(f"math.Z{chr(65 + n % 26)}{chr(65 + n // 26)}" for n in range(40))
    body = atom([entry(arxiv_id(1), "Paper", ("cs.LG", *junk, *many))])
    engine = open_db()
    store(engine, [arxiv_id(1)])
    report = categorise(engine, ArxivApi(fetcher, site.route("/api/query", Reply(body=body))), NOW)
    assert (report.found, report.error) == (1, "")
    with engine.connect() as conn:
        (paper,) = list_papers(conn)
    assert paper.categories == ("cs.LG", *many[:11])


def test_an_answer_without_any_paper_asked_stores_nothing(
    site: Site, fetcher: Fetcher, open_db: Callable[..., Engine]
) -> None:
    """arXiv's API gives an empty page at times: that is no "none found" for its papers."""
    engine = open_db()
    store(engine, [arxiv_id(n) for n in range(3)])
    empty = ArxivApi(fetcher, site.route("/api/query", Reply(body=atom([]))), sleep=Clock().sleep)
    first = categorise(engine, empty, NOW)
    assert first.error == ("arXiv API: an answer without any of the 3 papers asked (asked "
                           "again next run)")
    with engine.connect() as conn:
        assert len(not_asked(conn, WEEK, 10)) == 3


def test_after_one_failure_a_run_asks_nothing_more(
    site: Site, open_db: Callable[..., Engine]
) -> None:
    """A client of its own has no retries (a retry would come sooner than 3 s) and one
    timeout per request; after a failure the run's other lookup does not ask again."""
    engine = open_db()
    store(engine, [arxiv_id(n) for n in range(3)])
    url = site.route("/api/query", Reply(body=b"x", delay=5.0))
    started = time.monotonic()
    with closing(ArxivApi.open(url, FetchSettings(timeout=0.5, retries=3, backoff=0.01))) as api:
        liked = look_up(engine, api, [Subscriber("ada@example.org", (), papers=("2402.00001",))],
                        NOW)
        later = categorise(engine, api, NOW)
    assert time.monotonic() - started < 3  # one try of 0.5 s, not four
    assert len(site.seen("/api/query")) == 1
    assert liked.error.startswith("arXiv API: timed out") and liked.asked == 1
    assert later.error == liked.error and later.asked == 0
    assert later.describe().startswith("paper categories looked up in the arXiv API: 0 asked")


def test_old_papers_are_not_asked(
    site: Site, fetcher: Fetcher, open_db: Callable[..., Engine]
) -> None:
    """Papers first seen before the last week are in no issue: their categories would serve
    nothing (an upgraded store does not ask about its whole past)."""
    engine = open_db()
    with engine.begin() as conn:
        upsert_papers(conn, [Paper("Old", "An old one.", arxiv_id(5))], "a page",
                      NOW - timedelta(days=8))
    report = categorise(engine, client(site, fetcher, Clock()), NOW)
    assert (report.asked, report.said, site.seen("/api/query")) == (0, False, [])


def test_categories_of_an_entry_that_is_no_paper_are_kept(
    site: Site, fetcher: Fetcher, open_db: Callable[..., Engine]
) -> None:
    engine = open_db()
    store(engine, [arxiv_id(1)])
    body = atom([entry(arxiv_id(1), "T" * 600, ("cs.RO",))])  # a title too long for a paper
    categorise(engine, ArxivApi(fetcher, site.route("/api/query", Reply(body=body))), NOW)
    with engine.connect() as conn:
        (paper,) = list_papers(conn)
    assert paper.categories == ("cs.RO",)


def test_an_arxiv_feed_brings_categories_without_asking() -> None:
    """arXiv's own RSS names each paper's classes: those papers need no API call."""
    rss = (
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>cs.CL updates</title><item>"
        b"<title>Parsing</title><link>https://arxiv.org/abs/2401.00007</link>"
        b"<description>arXiv:2401.00007v1 Announce Type: new Abstract: We parse.</description>"
        b"<category>cs.CL</category><category>cs.AI</category><category>news</category>"
        b"</item></channel></rss>"
    )
    (paper,) = feed.parse(rss, ParseContext("https://rss.arxiv.org/rss/cs.CL", NOW.date())).papers
    assert paper.categories == ("cs.CL", "cs.AI")
    # a blog's tags are no categories, and "physics" is no category anywhere
    blog = rss.replace(b"<category>news</category>", b"<category>physics</category>")
    (post,) = feed.parse(blog, ParseContext("https://blog.example.org/feed", NOW.date())).papers
    assert post.categories == ()
    (again,) = feed.parse(blog, ParseContext("https://rss.arxiv.org/rss/cs.CL", NOW.date())).papers
    assert again.categories == ("cs.CL", "cs.AI")


def test_matching_reads_category_names_as_field_text() -> None:
    """A reader who names a field finds the paper whose words never do, and is told why."""
    quiet = Paper("Delay lines in a new chip", "We measure how long signals take.", "2401.00001",
                  categories=("physics.geo-ph", "astro-ph.EP"))
    other = Paper("A study of ranking", "We rank documents for queries.", "2401.00002",
                  categories=("cs.IR",))
    index = LexicalIndex([quiet, other])
    scores = index.score(["geophysics"])
    assert scores[0, 0] > 0 and scores[0, 1] == 0
    assert index.explain("geophysics", 0) == "arXiv category 'Geophysics'"
    assert index.score(["information retrieval"])[0, 1] > 0


def test_the_address_is_checked_and_can_be_turned_off(make_config) -> None:  # type: ignore[no-untyped-def]
    assert make_config({}, {"NEWSLETTER_ARXIV_API": "off"}).match.arxiv_api == ""
    assert make_config({"match": {"arxiv_api": ""}}).match.arxiv_api == ""
    with pytest.raises(ConfigError, match=r"key 'match.arxiv_api' must be an http"):
        make_config({"match": {"arxiv_api": "export.arxiv.org/api/query"}})
    with pytest.raises(ConfigError) as bad:
        make_config({}, {"NEWSLETTER_ARXIV_API": "file:///etc/passwd"})
    assert str(bad.value).endswith("'file:///etc/passwd' (from NEWSLETTER_ARXIV_API)")


def test_newsletter_fetch_asks_for_the_categories_of_what_it_stored(
    site: Site, tmp_path: Path
) -> None:
    page = tmp_path / "feed.xml"
    page.write_bytes(atom([entry(arxiv_id(n), f"Paper number {n}") for n in range(2)]))
    url = site.route("/api/query", api)
    (tmp_path / "newsletter.toml").write_text(
        f'[newsletter]\ndatabase_url = "sqlite:///{tmp_path / "n.db"}"\n'
        f'[[sources]]\npath = "{page}"\n'
    )
    run = CliRunner(env={"NEWSLETTER_ARXIV_API": url}).invoke
    config = ["--config", str(tmp_path / "newsletter.toml")]
    result = run(cli, [*config, "fetch"])
    assert result.exit_code == 0, result.output
    assert "paper categories looked up in the arXiv API: 2 asked, 2 found" in result.output
    again = run(cli, [*config, "fetch"])
    assert "paper categories" not in again.output and len(site.seen("/api/query")) == 1
    listed = json.loads(run(cli, [*config, "papers", "--json"]).output)
    assert sorted(p["categories"] for p in listed) == [
        ["astro-ph.EP", "physics.geo-ph"], ["cs.CL", "cs.LG"]]


def test_status_says_how_many_recent_papers_have_categories(
    site: Site, fetcher: Fetcher, open_db: Callable[..., Engine], make_config  # type: ignore[no-untyped-def]
) -> None:
    engine = open_db()
    store(engine, [arxiv_id(n) for n in range(3)] + [arxiv_id(90000)])
    with engine.begin() as conn:  # one paper stored before the last week: not counted
        upsert_papers(conn, [Paper("Old", "An old one.", arxiv_id(5))], "a page",
                      NOW - timedelta(days=30))
    config = make_config({"match": {"arxiv_api": "http://127.0.0.1:9/api"}})
    assert categories_line(config, engine, NOW).startswith(
        "arXiv categories of the last 7 days' papers with an arXiv id: 0 known, 4 not asked yet")
    categorise(engine, client(site, fetcher, Clock()), NOW)
    assert "3 known, 0 not asked yet" in categories_line(config, engine, NOW)
    assert categories_line(make_config({"match": {"arxiv_api": ""}}), engine, NOW) == (
        'arXiv categories: off ([match] arxiv_api is "")')


def test_a_category_name_half_the_papers_hold_is_no_field_text() -> None:
    """On a day of computer science, "Computer Science" tells nothing about one paper; the
    rarer "Robotics" still does."""
    day = [Paper(f"Paper {n}", "We study things.", f"2401.0000{n}", categories=(code,))
           for n, code in enumerate(["cs.RO", "cs.CL", "cs.CL", "cs.LG", "q-bio.NC", "math.CO"])]
    index = LexicalIndex(day)
    assert index.score(["computer science"]).max() == 0
    assert index.explain("robotics", 0) == "arXiv category 'Robotics'"
    said = index.explain("computation and language", 1)
    assert said == "arXiv category 'Computation and Language'"
