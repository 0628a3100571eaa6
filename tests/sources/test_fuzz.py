"""Fuzzing the four parsers: any bytes give a ``Page`` or a ``ParseError``, never anything else;
the page, cleaned, holds only what the store takes.

About 4,000 generated cases (6,000 parser calls): raw bytes, and inputs shaped like each
format (whole and truncated), in well under a minute.
"""

from __future__ import annotations

import html
import json
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from newsletter.models import KEY_CHARS
from newsletter.sources import feed, hf_api, hf_page, text
from newsletter.sources.base import Page, ParseContext, ParseError, Parser
from newsletter.sources.clean import clean_page

CTX = ParseContext("http://127.0.0.1/api/daily_papers?date=2026-01-13&limit=3", date(2026, 1, 13))
FUZZ = settings(max_examples=500, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PARSERS: dict[str, Parser] = {
    "text": text.parse, "hf-api": hf_api.parse, "hf-page": hf_page.parse, "feed": feed.parse,
}


def check(parse: Parser, body: bytes) -> None:
    """The parser either refuses with a one-line reason or returns a consistent page."""
    try:
        page = parse(body, CTX)
    except ParseError as exc:
        assert str(exc) and "\n" not in str(exc)
        event(f"refused: {str(exc)[:24]}")
        return
    event("papers" if page.papers else "no papers")
    assert isinstance(page, Page)
    assert page.entries >= len(page.papers) + len(page.skipped)
    for paper in page.papers:
        assert paper.title.strip() and paper.abstract.strip()
        assert paper.upvotes is None or paper.upvotes >= 0
    cleaned = clean_page(page)  # what the store gets: encodable, fitted, one-line reasons
    assert len(cleaned.papers) + len(cleaned.skipped) == len(page.papers) + len(page.skipped)
    for paper in cleaned.papers:
        paper.title.encode("utf-8")
        assert len(paper.key) <= KEY_CHARS and "\x00" not in paper.abstract
    assert all("\n" not in line for line in cleaned.skipped)


# --- raw bytes into every parser --------------------------------------------------------------

@pytest.mark.slow
@settings(FUZZ, max_examples=2000)
@given(kind=st.sampled_from(sorted(PARSERS)), body=st.binary(max_size=3000))
def test_any_bytes(kind: str, body: bytes) -> None:
    check(PARSERS[kind], body)


# --- shaped inputs ------------------------------------------------------------------------------

words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
json_leaf = st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats() | words
json_any = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(words, inner, max_size=4), max_leaves=12)
arxiv_ids = st.from_regex(r"\A\d{4}\.\d{4,5}\Z") | words
xml_words = st.text(alphabet=st.characters(  # what XML 1.0 allows, so whole documents parse
    codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"),
    max_size=80)
iso_dates = st.dates().map(lambda d: f"{d.isoformat()}T10:00:00.000Z") | words | st.integers()


@st.composite
def api_item(draw: st.DrawFn) -> Any:
    paper = {
        "id": draw(arxiv_ids), "title": draw(words), "summary": draw(words),
        "authors": draw(st.lists(st.fixed_dictionaries({"name": words}) | json_any, max_size=3)),
        "upvotes": draw(st.integers(-3, 10**9) | json_leaf),
        "publishedAt": draw(iso_dates),
        "ai_summary": draw(words | json_leaf), "ai_keywords": draw(st.lists(words) | json_leaf),
    }
    keys = draw(st.sets(st.sampled_from(sorted(paper))))
    item = {"paper": {k: paper[k] for k in keys}, "title": draw(words), "publishedAt": draw(words)}
    return draw(st.just(item) | json_any)


api_lists = st.lists(api_item(), max_size=6)


@pytest.mark.slow
@FUZZ
@given(items=api_lists | json_any, cut=st.integers(0, 4000))
def test_hf_api_json(items: Any, cut: int) -> None:
    body = json.dumps(items).encode()
    check(hf_api.parse, body)
    check(hf_api.parse, body[:cut])


@pytest.mark.slow
@FUZZ
@given(items=api_lists, key=st.sampled_from(["dailyPapers", "searchResults", "other"]),
       noise=words, quote=st.booleans())
def test_hf_page_html(items: Any, key: str, noise: str, quote: bool) -> None:
    props = html.escape(json.dumps({key: items}), quote=True)
    attr = f'data-props="{props}"' if quote else f"data-props='{props}'"
    body = (f'<html><body><p>{noise}</p><div data-target="DailyPapers" {attr}></div>'
            f"{noise}</body></html>").encode()
    check(hf_page.parse, body)
    check(hf_page.parse, body[: len(body) // 2])


ITEM = ("<item><title>{t}</title><link>{link}</link><description>{d}</description>"
        "<dc:creator>{a}</dc:creator><pubDate>{p}</pubDate></item>")
ENTRY = ("<entry><title>{t}</title><id>{link}</id><summary type='html'>{d}</summary>"
         "<author><name>{a}</name></author><updated>{p}</updated></entry>")
links = st.sampled_from(["https://arxiv.org/abs/", "https://huggingface.co/papers/", ""]).flatmap(
    lambda prefix: (st.from_regex(r"\A\d{4}\.\d{4,5}\Z") | xml_words).map(lambda i: prefix + i))
dates = st.sampled_from(["Tue, 13 Jan 2026 00:00:00 -0500", "2026-01-13T08:00:00Z", "", "soon"])


@st.composite
def feed_doc(draw: st.DrawFn) -> bytes:
    atom = draw(st.booleans())
    template = ENTRY if atom else ITEM
    parts = [template.format(t=escape(draw(xml_words)), link=escape(draw(links)),
                             d=escape(draw(xml_words) if draw(st.booleans()) else html.escape(
                                 f"arXiv:1 Announce Type: new Abstract: <b>{draw(xml_words)}</b>")),
                             a=escape(draw(xml_words)), p=draw(dates))
             for _ in range(draw(st.integers(0, 4)))]
    if atom:
        doc = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{"".join(parts)}</feed>'
    else:
        doc = ('<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
               f'<title>t</title>{"".join(parts)}</channel></rss>')
    return ('<?xml version="1.0" encoding="utf-8"?>' + doc).encode()


@pytest.mark.slow
@FUZZ
@given(doc=feed_doc(), cut=st.integers(0, 3000))
def test_feed_xml(doc: bytes, cut: int) -> None:
    check(feed.parse, doc)
    check(feed.parse, doc[:cut])


text_lines = st.sampled_from([
    "new", "Get trending papers in your email inbox!", "Subscribe", "Daily Papers", "·",
    "Mar 11", "May 21 2", "Dec 20, 2023 1", "Feb 30", "• 3 authors", "• 1 author",
    "A Title Of Some Paper", "x" * 45, "An abstract that is long enough to count as one. " * 2,
]) | words.filter(lambda s: "\n" not in s and "\r" not in s)


@FUZZ
@given(lines=st.lists(text_lines, max_size=25))
def test_text_snapshot(lines: list[str]) -> None:
    check(text.parse, "\n".join(lines).encode())
