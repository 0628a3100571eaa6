"""Plain-text helpers for rendering: abstract trimming, preheader, subject cleaning, wrapping.

All functions are pure; the ones applied to every paper of every issue are memoized because
the same papers recur across thousands of subscribers.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from datetime import date
from functools import lru_cache

from newsletter.wording import clip

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# A sentence ends at . ? or ! (optionally closed by a quote or bracket) followed by a space.
_SENTENCE_END = re.compile(r"[.?!][\"')\]\u201d\u2019]?(?=\s)")
# Words after which a period does not end a sentence.
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "al",
        "vs",
        "cf",
        "fig",
        "figs",
        "eq",
        "eqs",
        "approx",
        "resp",
        "ref",
        "refs",
        "sec",
        "no",
        "dr",
        "prof",
        "mr",
        "ms",
        "st",
    ]
)
_SPACE = re.compile(r"\s+")
# Category Cc, plus line and paragraph separators, which break header lines all the same.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def squash(text: str) -> str:
    """One line: control characters dropped, runs of whitespace collapsed into one space."""
    return _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


@lru_cache(maxsize=8192)
def trim_abstract(text: str, limit: int = 400) -> str:
    """Cut ``text`` at the last sentence end within ``limit`` characters (else at a word)."""
    text = squash(text)
    if len(text) <= limit:
        return text
    cut = _sentence_cut(text, limit)
    if cut >= limit // 2:
        return text[:cut]
    return clip(text, limit, " ,;:-")


def _sentence_cut(text: str, limit: int) -> int:
    """The end of the last whole sentence within ``limit`` (0 when there is none)."""
    best = 0
    for match in _SENTENCE_END.finditer(text, 0, limit + 1):
        end = match.end()
        word = text[:end].rsplit(" ", 1)[-1].rstrip(".?!\"')]\u201d\u2019").lower()
        if word in _ABBREVIATIONS or len(word) == 1:
            continue
        if text[:end].count("$") % 2:  # never stop inside inline TeX
            continue
        best = end
    return best


def authors_label(authors: Sequence[str], count: int | None, shown: int = 3) -> str:
    """``A, B, C et al.`` for long lists, all names for short ones, ``N authors`` without names."""
    total = max(count or 0, len(authors))
    if not authors:
        return f"{total} authors" if total > 1 else ""
    names = ", ".join(squash(a) for a in authors[:shown])
    return f"{names} et al." if total > shown else names


@lru_cache(maxsize=1024)
def date_label(day: date | None) -> str:
    """``Mar 11, 2026`` without depending on the process locale."""
    if day is None:
        return ""
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


@lru_cache(maxsize=256)
def long_date_label(day: date) -> str:
    """``Monday, Mar 11, 2026`` for headers."""
    return f"{WEEKDAYS[day.weekday()]}, {date_label(day)}"


def one_line(text: str, limit: int = 200) -> str:
    """A header-safe line: no control characters or line breaks, spaces collapsed, bounded."""
    return clip(squash(text), limit)


def preheader(titles: Sequence[str], topics: Sequence[str], limit: int = 90) -> str:
    """The inbox preview line: how many papers and the first titles, about ``limit`` characters."""
    if not titles:
        about = f" on {', '.join(topics[:3])}" if topics else ""
        return one_line(f"No new papers matched your topics{about} today.", limit)
    count = len(titles)
    head = f"{count} paper{'s' if count != 1 else ''} for you: "
    return one_line((head + "; ".join(titles))[: limit * 2], limit)


@lru_cache(maxsize=8192)
def wrap(text: str, width: int = 72, indent: str = "") -> str:
    """Word-wrap ``text`` for the plain-text part; long URLs are never broken."""
    return textwrap.fill(
        squash(text),
        width=width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
