"""The ``text`` source: plain-text snapshots of listing pages, as a browser copies them.

A page starts with a header (``new``, the subscribe box, ``Daily Papers``, the page date);
then each entry is a title line, an abstract paragraph, and optionally ``• N authors``,
``·`` and a publication date with an optional trailing upvote count (``May 21 2``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from newsletter.models import Paper
from newsletter.sources.bad_bytes import Repairs, mend
from newsletter.sources.base import Page, ParseContext, ParseError, SourceKind
from newsletter.sources.clean import clean_line

HEADER_LINES = frozenset(
    {
        "new",
        "get trending papers in your email inbox!",
        "subscribe",
        "daily papers",
        "byak and the research community",
    }
)
MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}
DATE_LINE = re.compile(  # counts of at most 9 digits: a longer "count" is not one
    r"^(?P<mon>[A-Z][a-z]{2}) (?P<day>\d{1,2})(?:, (?P<year>\d{4}))?(?: (?P<upvotes>\d{1,9}))?$"
)
AUTHORS_LINE = re.compile(r"^•\s*(?P<n>\d{1,9}) authors?$")
SEPARATOR = "·"
NEWLINE = re.compile(r"\r\n?|\n")
MIN_ABSTRACT = 40  # shorter "abstracts" are really a title without its abstract
BINARY_SHARE = 20  # over 1 byte in 20 NUL or not UTF-8: binary data, not a snapshot


@dataclass
class _Entry:
    title: str
    abstract: str = ""
    author_count: int | None = None
    published: date | None = None
    upvotes: int | None = None
    extra: list[str] = field(default_factory=list)


def parse(body: bytes, ctx: ParseContext) -> Page:
    """Parse one snapshot into papers; entries without an abstract are skipped and reported."""
    all_lines, repairs = _lines(body)
    lines, page_date = _split_header(all_lines)
    page_year = ctx.year or _page_year(page_date, ctx.today)
    entries = _entries(lines, page_year)
    if not entries:
        raise ParseError("no paper entries found (expected a title line then an abstract)")
    papers: list[Paper] = []
    skipped: list[str] = []
    for entry in entries:
        problem = _problem(entry)
        if problem:
            skipped.append(f"entry {entry.title[:60]!r}: {problem}")
            continue
        papers.append(_to_paper(entry))
    return Page(papers=tuple(papers), entries=len(entries), skipped=tuple(skipped),
                repaired=repairs.lines())


def _lines(body: bytes) -> tuple[list[str], Repairs]:
    """The page's non-empty lines, cleaned; a NUL is dropped and a byte that is not UTF-8
    becomes U+FFFD (both reported), unless so many are bad that it is not text at all."""
    if not body.strip():
        raise ParseError("empty file")
    text, repairs = mend(body.removeprefix(b"\xef\xbb\xbf"))
    if repairs.count * BINARY_SHARE > len(body):
        raise ParseError("binary data, not a text snapshot")
    # only CR and LF end a line: a stray form feed or NEL inside a title does not split it
    lines = (clean_line(line) for line in NEWLINE.split(text))
    return [line for line in lines if line], repairs


def _split_header(lines: list[str]) -> tuple[list[str], re.Match[str] | None]:
    """Drop the page header (known lines, then the page date that closes it)."""
    i = 0
    while i < len(lines) and lines[i].casefold() in HEADER_LINES:
        i += 1
    page_date = DATE_LINE.match(lines[i]) if i and i < len(lines) else None
    return lines[i + 1 if page_date else i :], page_date


def _page_year(page_date: re.Match[str] | None, today: date) -> int:
    """The page's year: the latest year in which its date is not after ``today``."""
    if page_date is None or page_date.group("year"):
        return int(page_date.group("year")) if page_date else today.year
    this_year = _date(page_date, today.year)
    return today.year - 1 if this_year and this_year > today else today.year


def _entries(lines: list[str], page_year: int) -> list[_Entry]:
    entries: list[_Entry] = []
    for line in lines:
        current = entries[-1] if entries else None
        if current is not None and _absorb_meta(current, line, page_year):
            continue
        if (
            current is not None
            and not current.abstract
            and current.published is None
            and current.author_count is None
            and len(line) >= MIN_ABSTRACT
            and len(line) > len(current.title)
        ):
            current.abstract = line
            continue
        entries.append(_Entry(title=line))
    return entries


def _absorb_meta(entry: _Entry, line: str, page_year: int) -> bool:
    """Take an authors / separator / date line into ``entry``; False if it is not one."""
    if m := AUTHORS_LINE.match(line):
        entry.author_count = int(m.group("n"))
        return True
    if line == SEPARATOR and entry.abstract:
        return True
    if (m := DATE_LINE.match(line)) and entry.abstract and entry.published is None:
        entry.published = _date(m, page_year)
        entry.upvotes = int(m.group("upvotes")) if m.group("upvotes") else None
        return entry.published is not None
    return False


def _date(m: re.Match[str], page_year: int) -> date | None:
    month = MONTHS.get(m.group("mon").lower())
    year = int(m.group("year")) if m.group("year") else page_year
    try:
        return date(year, month, int(m.group("day"))) if month else None
    except ValueError:
        return None


def _problem(entry: _Entry) -> str:
    if len(entry.title) > 500:  # first: no abstract is ever longer than a huge title line
        return "title longer than 500 characters"
    if not entry.abstract:
        return "no abstract"
    return ""


def _to_paper(entry: _Entry) -> Paper:
    return Paper(
        title=entry.title,
        abstract=entry.abstract,
        author_count=entry.author_count,
        published=entry.published,
        upvotes=entry.upvotes,
    )


def _sniff(body: bytes) -> bool:
    head = body[:400].decode("utf-8", "replace").casefold()
    return "get trending papers in your email inbox" in head


KIND = SourceKind(name="text", parse=parse, suffixes=(".txt",), sniff=_sniff)
