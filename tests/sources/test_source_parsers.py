"""The hf-api, hf-page and feed parsers on saved fixtures and on each kind of bad body."""

from __future__ import annotations

import html
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from newsletter.config import SourceSettings
from newsletter.sources import feed, hf_api, hf_page
from newsletter.sources.base import ParseContext, ParseError
from newsletter.sources.registry import detect_kind, kind_for_url

DATA = Path(__file__).resolve().parents[1] / "data" / "sources"
TODAY = date(2026, 1, 13)


def ctx(origin: str = "http://127.0.0.1/api/daily_papers?date=2026-01-13") -> ParseContext:
    return ParseContext(origin, TODAY)


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


# --- hf-api -----------------------------------------------------------------------------------

def test_hf_api_items_become_papers_with_all_fields() -> None:
    page = hf_api.parse(read("hf_api_page1.json"), ctx())
    assert page.entries == 3 and not page.skipped and page.next_url is None
    lantern = page.papers[0]
    assert lantern.arxiv_id == "2601.10001"
    assert lantern.title == "Lantern: Step-Level Verifiers for Long Mathematical Reasoning"
    assert lantern.abstract.startswith("We train a small verifier that scores each intermediate")
    assert "\n" not in lantern.abstract and lantern.abstract.endswith("full reward model.")
    assert lantern.authors == ("Mirela Osei", "Tomas Varga", "Keiko Brandt")
    assert lantern.author_count == 3
    assert lantern.upvotes == 42
    assert lantern.published == date(2026, 1, 12)
    assert lantern.ai_summary == (
        "A step-level verifier improves best-of-n selection for math reasoning at low cost.")
    assert lantern.ai_keywords == ("chain of thought", "process reward model", "best-of-n",
                                   "verifier")
    assert lantern.link == "https://huggingface.co/papers/2601.10001"
    assert page.papers[2].authors == ("Ana Lucía Ortega",)
    assert page.papers[1].ai_summary is None and page.papers[1].ai_keywords == ()
    assert lantern.code_url == "https://github.com/example-lab/lantern"
    assert page.papers[1].code_url == ""  # a javascript: "repository" is dropped


def test_hf_api_skips_an_item_without_abstract_and_says_why() -> None:
    page = hf_api.parse(read("hf_api_page2.json"), ctx())
    assert page.entries == 2 and len(page.papers) == 1
    assert page.skipped == ("item 1: 'A Placeholder Entry Without Any Abstract': no abstract",)


def test_hf_api_full_page_links_the_next_page() -> None:
    origin = "http://h/api/daily_papers?date=2026-01-13&limit=3"
    assert hf_api.parse(read("hf_api_page1.json"), ctx(origin)).next_url == origin + "&p=1"
    second = "http://h/api/daily_papers?date=2026-01-13&limit=3&p=1"
    assert hf_api.parse(read("hf_api_page1.json"), ctx(second)).next_url == origin + "&p=2"
    assert hf_api.parse(read("hf_api_page2.json"), ctx(second)).next_url is None


def test_hf_api_first_url_adds_date_and_limit() -> None:
    base = "https://huggingface.co/api/daily_papers"
    assert hf_api.first_url(base, SourceSettings(), TODAY) == base + "?date=2026-01-13&limit=100"
    chosen = SourceSettings(date="2025-12-24", limit=20)
    assert hf_api.first_url(base, chosen, TODAY) == base + "?date=2025-12-24&limit=20"
    given = base + "?date=2024-01-02&limit=5"
    assert hf_api.first_url(given, chosen, TODAY) == given


@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty response, expected JSON"),
    (b"  \n", "empty response, expected JSON"),
    (b"<!DOCTYPE html><html><body>Bad gateway</body></html>", "got an HTML page, expected JSON"),
    (b'[{"paper": {"id": "2601.1', "truncated JSON"),
    (b"[1, 2,, 3]", "invalid JSON"),
    (b'{"error": "Invalid date"}', "expected a JSON list of papers, got a JSON object"),
    (b'"just a string"', "expected a JSON list of papers, got a JSON string"),
    (b'[{"title": "caf\xe9"}]', "not UTF-8 JSON (bad byte at offset 15)"),
    (bytes(range(256)), "binary data, expected JSON"),
    (b'[{"a": 1}] trailing', "invalid JSON: Extra data"),
    (b"[" * 100_000, "invalid JSON"),
])
def test_hf_api_bad_bodies_are_one_line_parse_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        hf_api.parse(body, ctx())
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_hf_api_tolerates_odd_item_shapes() -> None:
    items = [
        5,
        {"paper": {"id": "not-an-id", "title": "T " * 3, "summary": "S", "upvotes": True,
                   "authors": [{"name": 3}, "Plain Name", {"name": " "}], "publishedAt": "soon",
                   "ai_keywords": "not a list"}},
        {"title": "Flat item", "summary": "Flat abstract", "publishedAt": "2026-01-02"},
        {"paper": {"id": "2601.00009", "summary": "no title here"}},
    ]
    page = hf_api.parse(json.dumps(items).encode(), ctx())
    assert page.skipped == ("item 0: not an object but a number", "item 3: 2601.00009: no title")
    odd, flat = page.papers
    assert (odd.title, odd.arxiv_id, odd.upvotes, odd.published) == ("T T T", None, None, None)
    assert odd.authors == ("Plain Name",) and odd.ai_keywords == ()
    assert flat.title == "Flat item" and flat.published == date(2026, 1, 2)


def test_hf_api_empty_day_is_an_empty_page() -> None:
    page = hf_api.parse(b"[]", ctx())
    assert page.papers == () and page.entries == 0 and page.next_url is None


# --- hf-page ----------------------------------------------------------------------------------

def test_hf_page_reads_daily_papers_from_data_props() -> None:
    page = hf_page.parse(read("hf_page_daily.html"), ctx("http://h/papers/date/2026-01-13"))
    api = hf_api.parse(read("hf_api_page1.json"), ctx())
    # the same items, parsed by the same code (only the API fixture names code repositories)
    assert page.papers == tuple(replace(p, code_url="") for p in api.papers)
    assert page.papers[2].title.startswith("Decoding Imagined Shapes")


def test_hf_page_reads_search_results() -> None:
    page = hf_page.parse(read("hf_page_search.html"), ctx("http://h/papers?q=decoding"))
    assert [p.arxiv_id for p in page.papers] == ["2601.10004", "2601.10003"]
    assert page.papers[1].authors == ("Ana Lucía Ortega",)


def _page(props: str, target: str = "DailyPapers") -> bytes:
    return (f'<html><body><div data-target="{target}" data-props="{props}"></div>'
            "</body></html>").encode()


@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty response"),
    (b"<html><body><h1>404</h1></body></html>", 'no data-target="DailyPapers" element'),
    (_page("{}", target="Other"), 'no data-target="DailyPapers" element'),
    (_page(""), "the data-target=\"DailyPapers\" element has no data-props"),
    (_page(html.escape('{"dailyPapers": [{"paper"')), "data-props is not valid JSON"),
    (_page(html.escape("[1, 2]")), "data-props is not a JSON object"),
    (_page(html.escape('{"papers": []}')), "data-props has no dailyPapers or searchResults"),
    (b"<html>\xff\xfe</html>", "not UTF-8 HTML"),
    (b"\x00\x01\x02garbage", "binary data"),
])
def test_hf_page_bad_pages_are_parse_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        hf_page.parse(body, ctx())


def test_hf_page_first_url_uses_the_configured_date() -> None:
    dated = SourceSettings(date="2026-01-05")
    assert hf_page.first_url("https://huggingface.co/papers", dated, TODAY) == (
        "https://huggingface.co/papers/date/2026-01-05")
    assert hf_page.first_url("https://huggingface.co/papers?q=x", dated, TODAY) == (
        "https://huggingface.co/papers?q=x")
    assert hf_page.first_url("https://huggingface.co/papers", SourceSettings(), TODAY) == (
        "https://huggingface.co/papers")


# --- feed -------------------------------------------------------------------------------------

def test_arxiv_rss_entries() -> None:
    page = feed.parse(read("arxiv_rss.xml"), ctx("http://h/rss"))
    assert page.entries == 3
    spiking, adapters = page.papers
    assert spiking.arxiv_id == "2601.20001"
    assert spiking.title == "Spiking Recurrent Networks Learn Place Codes Without Backpropagation"
    assert spiking.abstract.startswith("A recurrent network of spiking neurons")
    assert "place-cell-like codes" in spiking.abstract and "<i>" not in spiking.abstract
    assert spiking.authors == ("Hana Kovač", "Leon Wirth", "Sara Okafor")
    assert spiking.published == date(2026, 1, 13)
    assert adapters.arxiv_id == "2601.20002"
    assert adapters.abstract.startswith("Voxelwise encoding models")
    assert adapters.authors == ("Marta Quintero", "Yusuf Demir")
    assert page.skipped == ("entry 2: 'An Entry Whose Abstract Went Missing': no abstract",)


def test_atom_feed_entries() -> None:
    page = feed.parse(read("daily_atom.xml"), ctx("http://h/atom"))
    lantern, comets = page.papers
    assert lantern.arxiv_id == "2601.10001" and lantern.url == ""
    assert lantern.authors == ("Mirela Osei", "Tomas Varga", "Keiko Brandt")
    assert lantern.abstract.startswith("We train a small verifier")
    assert "<p>" not in lantern.abstract
    assert lantern.published == date(2026, 1, 12)
    assert comets.arxiv_id is None and comets.url == "https://example.invalid/papers/comets"
    assert comets.abstract.endswith("down to magnitude 15 & reports them within hours.")
    assert comets.published == date(2026, 1, 12)


@pytest.mark.parametrize(("creator", "authors"), [
    ("Ada One", ("Ada One",)),
    ("Ada One, Bo Two, and Cy Three", ("Ada One", "Bo Two", "Cy Three")),
    ("Ada One and Bo Two", ("Ada One", "Bo Two")),
    ("Ada One,, Bo Two ,", ("Ada One", "Bo Two")),
])
def test_feed_splits_one_creator_into_authors(creator: str, authors: tuple[str, ...]) -> None:
    body = ('<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<channel><title>x</title><item><title>T</title><description>An abstract."
            f"</description><dc:creator>{creator}</dc:creator></item></channel></rss>").encode()
    (paper,) = feed.parse(body, ctx()).papers
    assert paper.authors == authors and paper.author_count == len(authors)


def test_feed_plain_text_summaries_keep_angle_brackets() -> None:
    body = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>'
            b'<entry><title>Bounds</title><summary type="text">We show x&lt;y and y &gt; z.'
            b"</summary></entry>"
            b'<entry><title>Markup</title><summary type="html">&lt;p&gt;One.&lt;/p&gt;&lt;p&gt;Two.'
            b"&lt;/p&gt;&lt;script&gt;track()&lt;/script&gt;</summary></entry></feed>")
    plain, markup = feed.parse(body, ctx()).papers
    assert plain.abstract == "We show x<y and y > z."
    assert markup.abstract == "One. Two."


def test_feed_tolerates_html_entities_in_xml() -> None:
    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item>'
            b"<title>Fast&nbsp;Path</title><description>An abstract.</description>"
            b"<link>https://arxiv.org/abs/2601.30001v3</link></item></channel></rss>")
    (paper,) = feed.parse(body, ctx()).papers
    assert paper.title == "Fast Path" and paper.arxiv_id == "2601.30001"


def test_feed_old_arxiv_title_suffix_is_dropped() -> None:
    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item>'
            b"<title>Some Result. (arXiv:2601.30002v1 [cs.LG])</title>"
            b"<description>&lt;p&gt;Text.&lt;/p&gt;</description></item></channel></rss>")
    (paper,) = feed.parse(body, ctx()).papers
    assert paper.title == "Some Result." and paper.abstract == "Text."


@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty response"),
    (b"<html><head><title>Oops</title></head><body><p>Server error</p></body></html>",
     "not an RSS or Atom feed"),
    (read("arxiv_rss.xml")[:1200], "malformed or truncated XML"),
    (bytes(range(256)), "not an RSS or Atom feed"),
    (b'{"items": []}', "not an RSS or Atom feed"),
    ('<?xml version="1.0" encoding="us-ascii"?><rss version="2.0"><channel><title>x</title>'
     "<item><title>Caf\xe9</title><description>d</description></item></channel></rss>"
     .encode("latin-1"), "bytes do not match the feed's encoding"),
])
def test_feed_bad_bodies_are_parse_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        feed.parse(body, ctx())


def test_a_declared_latin1_feed_is_fine() -> None:
    body = ('<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>x'
            "</title><item><title>Café</title><description>Déjà vu.</description></item>"
            "</channel></rss>").encode("latin-1")
    (paper,) = feed.parse(body, ctx()).papers
    assert (paper.title, paper.abstract) == ("Café", "Déjà vu.")


# --- kind detection ---------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kind"), [
    ("hf_api_page1.json", "hf-api"), ("hf_page_daily.html", "hf-page"),
    ("arxiv_rss.xml", "feed"), ("daily_atom.xml", "feed"),
])
def test_local_files_are_detected_by_suffix(name: str, kind: str) -> None:
    assert detect_kind(DATA / name, read(name)) == kind


@pytest.mark.parametrize(("name", "kind"), [
    ("hf_api_page1.json", "hf-api"), ("hf_page_search.html", "hf-page"), ("arxiv_rss.xml", "feed"),
    ("daily_atom.xml", "feed"),
])
def test_local_files_without_suffix_are_sniffed(name: str, kind: str, tmp_path: Path) -> None:
    assert detect_kind(tmp_path / "download", read(name)) == kind


@pytest.mark.parametrize(("url", "kind"), [
    ("https://huggingface.co/api/daily_papers?date=2026-12-01", "hf-api"),
    ("https://huggingface.co/papers", "hf-page"),
    ("http://127.0.0.1:8765/2026-12-01_daily.txt", "text"),  # a snapshot on a web server
    ("https://example.org/digest.TXT?v=2", "text"),
    ("https://example.org/feed.json", "feed"),  # a JSON Feed, not the HF API
    ("https://export.arxiv.org/rss/cs.LG", "feed"),
    ("https://example.org/feed.xml", "feed"),
])
def test_a_url_given_on_the_command_line_finds_its_kind(url: str, kind: str) -> None:
    assert kind_for_url(url) == kind
