"""The ``hf-api`` source: the Hugging Face daily papers JSON API, paged with ``limit`` and ``p``.

``parse_items`` turns the API's items (``{"paper": {...}, "title", "summary", ...}``) into
papers; the ``hf-page`` source reuses it for the same items embedded in an HTML page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newsletter.config import SourceSettings
from newsletter.models import ARXIV_ID, Paper
from newsletter.sources.base import Page, ParseContext, ParseError, SourceKind

MAX_TITLE = 500
REPO = re.compile(r"https://[^\s\"'<>\\]{3,300}")  # a githubRepo link worth showing


def parse(body: bytes, ctx: ParseContext) -> Page:
    """Parse one API response; a full page (as many items as ``limit``) links the next one."""
    data = load_json(body)
    if not isinstance(data, list):
        raise ParseError(f"expected a JSON list of papers, got a JSON {_type_name(data)}")
    page = parse_items(data)
    limit = _query_int(ctx.origin, "limit")
    if limit and len(data) >= limit:
        return Page(page.papers, page.entries, page.skipped, next_url=_next_page(ctx.origin))
    return page


def load_json(body: bytes) -> Any:
    """Decode a JSON body, saying in one line what it is instead when it is not JSON."""
    head = body.lstrip()[:200]
    if not head:
        raise ParseError("empty response, expected JSON")
    if head[:1] == b"<":
        kind = "an HTML page" if b"html" in head.lower() else "XML or HTML"
        raise ParseError(f"got {kind}, expected JSON")
    if b"\x00" in body:  # JSON escapes NUL inside strings, so a raw one means binary data
        raise ParseError("binary data, expected JSON")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 JSON (bad byte at offset {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at_end = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        problem = "truncated JSON" if at_end else "invalid JSON"
        raise ParseError(f"{problem}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # over-long numbers, deep nesting
        raise ParseError(f"invalid JSON: {str(exc).splitlines()[0][:80]}") from None


def parse_items(items: list[Any]) -> Page:
    """Papers from API items; items without a title or abstract are skipped with a reason."""
    papers: list[Paper] = []
    skipped: list[str] = []
    for i, item in enumerate(items):
        result = paper_from_item(item)
        if isinstance(result, Paper):
            papers.append(result)
        else:
            skipped.append(f"item {i}: {result}")
    return Page(papers=tuple(papers), entries=len(items), skipped=tuple(skipped))


def paper_from_item(item: Any) -> Paper | str:
    """One item as a paper, or a one-line reason why it cannot be one."""
    if not isinstance(item, Mapping):
        return f"not an object but a {_type_name(item)}"
    inner = item.get("paper")
    paper: Mapping[str, Any] = inner if isinstance(inner, Mapping) else item
    title = _text(paper.get("title")) or _text(item.get("title"))
    abstract = _text(paper.get("summary")) or _text(item.get("summary"))
    arxiv_id = _arxiv_id(paper.get("id"))
    label = f"{title[:60]!r}" if title else (arxiv_id or "untitled")
    if not title:
        return f"{label}: no title"
    if not abstract:
        return f"{label}: no abstract"
    if len(title) > MAX_TITLE:
        return f"{label}: title longer than {MAX_TITLE} characters"
    authors = _authors(paper.get("authors"))
    return Paper(
        title=title,
        abstract=abstract,
        arxiv_id=arxiv_id,
        authors=authors,
        author_count=len(authors) or None,
        published=_date(paper.get("publishedAt")) or _date(item.get("publishedAt")),
        upvotes=_count(paper.get("upvotes")),
        ai_summary=_text(paper.get("ai_summary")) or _text(item.get("ai_summary")) or None,
        ai_keywords=_keywords(paper.get("ai_keywords") or item.get("ai_keywords")),
        code_url=_repo(paper.get("githubRepo") or item.get("githubRepo")),
    )


def _repo(value: Any) -> str:
    """A code repository link: an https URL without spaces or quotes, else ""."""
    url = _text(value)
    return url if REPO.fullmatch(url) else ""


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _arxiv_id(value: Any) -> str | None:
    value = value.strip() if isinstance(value, str) else ""
    return value if ARXIV_ID.match(value) else None


def _authors(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    names = (_text(a.get("name")) if isinstance(a, Mapping) else _text(a) for a in value)
    return tuple(n for n in names if n)


def _keywords(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(k for k in map(_text, value) if k))


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), "number" if isinstance(value, int | float) else "null")


def _query_int(url: str, name: str) -> int:
    value = dict(parse_qsl(urlsplit(url).query)).get(name, "")
    return int(value) if value.isdigit() else 0


def with_query(url: str, **params: str) -> str:
    """``url`` with the given query parameters set (others kept, in order)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) | params
    return urlunsplit(parts._replace(query=urlencode(query)))


def _next_page(url: str) -> str:
    return with_query(url, p=str(_query_int(url, "p") + 1))


def first_url(url: str, settings: SourceSettings, today: date) -> str:
    """The configured URL with ``date`` (the configured day, else today) and ``limit`` added."""
    query = dict(parse_qsl(urlsplit(url).query))
    params = {}
    if "date" not in query:
        params["date"] = settings.date or today.isoformat()
    if "limit" not in query and settings.limit > 0:
        params["limit"] = str(settings.limit)
    return with_query(url, **params) if params else url


def _sniff(body: bytes) -> bool:
    head = body.lstrip()[:2000]
    return head[:1] == b"[" and b'"paper"' in head


KIND = SourceKind(name="hf-api", parse=parse, suffixes=(".json",), sniff=_sniff,
                  first_url=first_url)
