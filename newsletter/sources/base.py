"""The source contract: a kind turns bytes into a ``Page`` of papers; the registry finds kinds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from newsletter.config import SourceSettings
from newsletter.models import Paper


class ParseError(ValueError):
    """The body is not what this kind of source expects; the message says what is wrong."""


@dataclass(frozen=True)
class ParseContext:
    """What a parser may need to know besides the bytes."""

    origin: str  # the URL or path, for messages and relative links
    today: date
    year: int = 0  # the page's year for dates without one (0: ``today.year``)


@dataclass(frozen=True)
class Page:
    """The papers one fetched body held; ``entries`` counts listing entries before de-dup."""

    papers: tuple[Paper, ...]
    entries: int
    skipped: tuple[str, ...] = ()  # one line per entry that was left out, saying why
    repaired: tuple[str, ...] = ()  # bytes mended in the body, and where (``bad_bytes``)
    next_url: str | None = None  # paging: the next URL to fetch for the same source


Parser = Callable[[bytes, ParseContext], Page]
UrlBuilder = Callable[[str, SourceSettings, date], str]


def same_url(url: str, _settings: SourceSettings, _today: date) -> str:
    return url


@dataclass(frozen=True)
class SourceKind:
    """A kind of source: its name, its parser, and how it recognises a local file."""

    name: str
    parse: Parser
    suffixes: tuple[str, ...] = ()
    sniff: Callable[[bytes], bool] = field(default=lambda _body: False)
    first_url: UrlBuilder = same_url  # e.g. hf-api adds date and paging parameters
