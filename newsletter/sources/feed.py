"""The ``feed`` source: RSS and Atom feeds (arXiv listings, community daily-papers feeds).

feedparser forgives a lot; we do not: a body that is not a feed, or malformed or truncated XML,
is a ``ParseError``, so nothing half-read is stored. Single bad bytes are mended first and
reported (``bad_bytes``): a raw control byte is dropped and, in a UTF-8 feed, a byte that is not
UTF-8 becomes U+FFFD, so one bad byte does not cost the feed its good entries.
A character reference to what XML cannot hold is mended first, by the rule of ``clean``: a
surrogate or a code point beyond Unicode (``&#xD800;``) becomes U+FFFD, a control character
(``&#0;``) is dropped; feedparser's fallback parser would crash on them.
"""

from __future__ import annotations

import re
import time
from datetime import date
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import feedparser

from newsletter import arxiv_taxonomy
from newsletter.models import Paper
from newsletter.sources.bad_bytes import XML_CONTROLS, Repairs, mend
from newsletter.sources.base import Page, ParseContext, ParseError, SourceKind

ARXIV_IN_LINK = re.compile(r"(?:arxiv\.org/(?:abs|pdf)/|huggingface\.co/papers/|arXiv\.org:|arxiv:)"
                           r"(\d{4}\.\d{4,5})(?:v\d+)?", re.IGNORECASE)
ANNOUNCE_PREFIX = re.compile(r"^arXiv:\S+\s+Announce Type:\s*\S+\s*Abstract:\s*", re.IGNORECASE)
TITLE_SUFFIX = re.compile(r"\s*\(arXiv:[^)]*\)\s*$")
AUTHOR_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")
HIDDEN = frozenset({"script", "style"})
BLOCKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "td"})
MAX_TITLE = 500
ARXIV_SCHEME = "http://arxiv.org/schemas/atom"  # the scheme of the arXiv API's category tags
MAX_CATEGORIES = 12  # arXiv categories kept per paper (a paper rarely has more than five)
TOLERATED = ("undefined entity",)  # HTML entities in XML: feedparser decodes them correctly
CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
XML_ENCODING = re.compile(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0  # inside <script> or <style>, whose text is not prose

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self._hidden += 1
        elif tag in BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN and self._hidden:
            self._hidden -= 1
        elif tag in BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def strip_html(fragment: str) -> str:
    """The text of an HTML fragment, whitespace collapsed."""
    if "<" not in fragment and "&" not in fragment:
        return " ".join(fragment.split())
    parser = _TextOnly()
    parser.feed(fragment)
    parser.close()
    return " ".join("".join(parser.parts).split())


def parse(body: bytes, ctx: ParseContext) -> Page:
    """Parse one RSS/Atom document; entries without a title or abstract are skipped."""
    doc, repairs = read_document(body)
    papers, skipped = [], []
    arxiv = _from_arxiv(ctx.origin)
    for i, entry in enumerate(doc.entries):
        result = paper_from_entry(entry, arxiv)
        if isinstance(result, str):
            skipped.append(f"entry {i}: {result}")
        else:
            papers.append(result)
    return Page(papers=tuple(papers), entries=len(doc.entries), skipped=tuple(skipped),
                repaired=repairs.lines())


def read_document(body: bytes) -> tuple[Any, Repairs]:
    """One RSS/Atom document as feedparser reads it, after mending what can be mended, and
    the repairs made; ``ParseError`` when it is no feed or is broken beyond that."""
    if not body.strip():
        raise ParseError("empty response, expected an RSS or Atom feed")
    body, repairs = _mend_bytes(body)
    try:
        doc = feedparser.parse(
            _mend_charrefs(body), sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # feedparser's loose fallback parser gave up
        raise ParseError(f"unreadable feed ({type(exc).__name__}: {str(exc)[:80]})") from None
    _check(doc)
    return doc, repairs


def _mend_bytes(body: bytes) -> tuple[bytes, Repairs]:
    """``body`` with raw control bytes (which XML cannot hold) dropped and, in a feed that is
    UTF-8 (declared so, or not declared), each byte that is not UTF-8 replaced by U+FFFD; a
    UTF-16 or UTF-32 feed is left to feedparser."""
    declared = XML_ENCODING.match(body[:200])
    encoding = (declared.group(1).decode("ascii").lower() if declared else "utf-8")
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or encoding.startswith(("utf-16", "utf-32")):
        return body, Repairs()
    text, repairs = mend(body, drop=XML_CONTROLS, utf8=encoding in ("utf-8", "utf8"))
    return (text.encode("utf-8", "surrogateescape") if repairs.count else body), repairs


def _mend_charrefs(body: bytes) -> bytes:
    """``body`` with character references to what XML 1.0 cannot hold mended (see above)."""
    return CHARREF.sub(_mend_charref, body) if b"&#" in body else body


def _mend_charref(match: re.Match[bytes]) -> bytes:
    hexa, decimal = match.groups()
    digits = hexa or decimal
    point = int(digits, 16 if hexa else 10) if len(digits) <= 8 else -1
    allowed = (0x20, 0xD7FF), (0xE000, 0xFFFD), (0x10000, 0x10FFFF)  # XML 1.0 Char, with 9 A D
    if point in (0x9, 0xA, 0xD) or any(low <= point <= high for low, high in allowed):
        return match.group()
    return b"" if 0 <= point < 0x20 else b"&#xFFFD;"


def _check(doc: Any) -> None:
    if not doc.get("version") and not doc.entries:
        raise ParseError("not an RSS or Atom feed (an HTML page or other document?)")
    if not doc.get("bozo"):
        return
    exc = doc.get("bozo_exception")
    message = str(exc).splitlines()[0] if exc else "unknown problem"
    if isinstance(exc, feedparser.CharacterEncodingOverride | feedparser.CharacterEncodingUnknown):
        raise ParseError(f"bytes do not match the feed's encoding ({message})")
    if any(t in message for t in TOLERATED):
        return
    raise ParseError(f"malformed or truncated XML: {message.replace('<unknown>:', 'at ')}")


def paper_from_entry(entry: Any, arxiv: bool = False) -> Paper | str:
    """One feed entry as a ``Paper``, or a one-line reason why it cannot be one; ``arxiv``:
    the feed is arXiv's own, whose plain tags are its categories (see ``categories``)."""
    title = TITLE_SUFFIX.sub("", strip_html(entry.get("title", "")))
    abstract = ANNOUNCE_PREFIX.sub("", _summary(entry))
    label = repr(title[:60]) if title else "untitled"
    if not title:
        return "no title"
    if not abstract:
        return f"{label}: no abstract"
    if len(title) > MAX_TITLE:
        return f"{label}: title longer than {MAX_TITLE} characters"
    authors = _authors(entry)
    arxiv_id = arxiv_id_of(entry)
    return Paper(
        title=title,
        abstract=abstract,
        arxiv_id=arxiv_id,
        url="" if arxiv_id else _link(entry),
        authors=authors,
        author_count=len(authors) or None,
        published=_published(entry),
        categories=categories(entry, arxiv) if arxiv_id else (),
    )


def categories(entry: Any, arxiv: bool = False) -> tuple[str, ...]:
    """The arXiv categories an entry names, the primary one first, at most
    ``MAX_CATEGORIES``: its ``arxiv:primary_category``, its tags in arXiv's scheme and, in a
    feed of arXiv's own (``arxiv``), its plain tags; a blog's "physics" tag is no category."""
    primary = entry.get("arxiv_primary_category") or {}
    terms = [primary.get("term") if isinstance(primary, dict) else None]
    terms += [tag.get("term") for tag in entry.get("tags") or () if isinstance(tag, dict)
              and (arxiv or str(tag.get("scheme") or "").startswith(ARXIV_SCHEME))]
    found = (t.strip() for t in terms if isinstance(t, str))
    return tuple(dict.fromkeys(t for t in found if arxiv_taxonomy.valid(t)))[:MAX_CATEGORIES]


def _summary(entry: Any) -> str:
    """The entry's summary (else its content) as plain text."""
    details = [entry.get("summary_detail"), *(entry.get("content") or ())]
    for detail in details:
        value = detail.get("value") if detail else None
        if isinstance(value, str) and value.strip():
            is_html = "html" in str(detail.get("type", "text/html"))
            return strip_html(value) if is_html else " ".join(value.split())
    return ""


def _authors(entry: Any) -> tuple[str, ...]:
    names = [strip_html(a.get("name", "")) for a in entry.get("authors") or () if a.get("name")]
    if not names and isinstance(entry.get("author"), str):
        names = [strip_html(entry["author"])]
    if len(names) == 1:  # arXiv RSS puts all authors in one dc:creator: "A One, B Two and C Three"
        names = AUTHOR_SEPARATOR.split(names[0])
    return tuple(n.strip() for n in names if n.strip())


def arxiv_id_of(entry: Any) -> str | None:
    for value in (entry.get("id"), entry.get("link"), *(
            link.get("href") for link in entry.get("links") or ())):
        if isinstance(value, str) and (m := ARXIV_IN_LINK.search(value)):
            return m.group(1)
    return None


def _from_arxiv(origin: str) -> bool:
    """Whether a feed comes from arXiv itself (rss.arxiv.org, export.arxiv.org, arxiv.org)."""
    host = (urlsplit(origin).hostname or "").lower()
    return host == "arxiv.org" or host.endswith(".arxiv.org")


def _link(entry: Any) -> str:
    link = entry.get("link")
    return link if isinstance(link, str) and link.startswith(("http://", "https://")) else ""


def _published(entry: Any) -> date | None:
    for key in ("published_parsed", "updated_parsed"):
        value = dict.get(entry, key)  # not entry.get: its fallback mapping warns
        if isinstance(value, time.struct_time):
            try:
                return date(value.tm_year, value.tm_mon, value.tm_mday)
            except ValueError:
                return None
    return None


def _sniff(body: bytes) -> bool:
    head = body[:1000].lower()
    return any(tag in head for tag in (b"<rss", b"<feed", b"<rdf:rdf"))


KIND = SourceKind(name="feed", parse=parse, suffixes=(".xml", ".rss", ".atom"), sniff=_sniff)
