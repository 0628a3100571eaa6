"""The ``hf-page`` source: Hugging Face papers HTML pages (daily listings and search results).

The page embeds its data as HTML-escaped JSON in the ``data-props`` attribute of the element
with ``data-target="DailyPapers"``; we read that, never the page's CSS classes.
"""

from __future__ import annotations

import json
from datetime import date
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from newsletter.config import SourceSettings
from newsletter.sources.base import Page, ParseContext, ParseError, SourceKind
from newsletter.sources.hf_api import parse_items

TARGET = "DailyPapers"
LIST_KEYS = ("dailyPapers", "searchResults")


class _PropsFinder(HTMLParser):
    """Collects the ``data-props`` of the first element whose ``data-target`` is ``TARGET``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.props: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.props is not None:
            return
        values = dict(attrs)
        if values.get("data-target") == TARGET:
            self.props = values.get("data-props") or ""


def parse(body: bytes, ctx: ParseContext) -> Page:
    """Parse one papers page into papers; a page without the embedded data is a ``ParseError``."""
    props = _props(_decode(body))
    data = _load(props)
    items = _items(data)
    return parse_items(items)


def _decode(body: bytes) -> str:
    if not body.strip():
        raise ParseError("empty response, expected an HTML page")
    if b"\x00" in body[:4096]:
        raise ParseError("binary data, not an HTML page")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 HTML (bad byte at offset {exc.start})") from None


def _props(html: str) -> str:
    finder = _PropsFinder()
    try:
        finder.feed(html)
        finder.close()
    except (AssertionError, ValueError) as exc:  # html.parser gives up on some broken markup
        raise ParseError(f"unreadable HTML: {exc}") from None
    if finder.props is None:
        raise ParseError(f'no data-target="{TARGET}" element (not a Hugging Face papers page?)')
    if not finder.props.strip():
        raise ParseError(f'the data-target="{TARGET}" element has no data-props')
    return finder.props


def _load(props: str) -> Any:
    try:
        return json.loads(props)
    except json.JSONDecodeError as exc:
        raise ParseError(f"data-props is not valid JSON: {exc.msg} at column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"data-props is not valid JSON: {str(exc).splitlines()[0][:80]}") from None


def _items(data: Any) -> list[Any]:
    if not isinstance(data, dict):
        raise ParseError("data-props is not a JSON object")
    for key in LIST_KEYS:
        if isinstance(data.get(key), list):
            items: list[Any] = data[key]
            return items
    raise ParseError(f"data-props has no {' or '.join(LIST_KEYS)} list")


def first_url(url: str, settings: SourceSettings, _today: date) -> str:
    """``/papers`` with a configured date becomes that day's page, ``/papers/date/YYYY-MM-DD``."""
    parts = urlsplit(url)
    if settings.date and parts.path.rstrip("/").endswith("/papers") and not parts.query:
        return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/date/{settings.date}"))
    return url


def _sniff(body: bytes) -> bool:
    return f'data-target="{TARGET}"'.encode() in body[:200_000]


KIND = SourceKind(name="hf-page", parse=parse, suffixes=(".html", ".htm"), sniff=_sniff,
                  first_url=first_url)
