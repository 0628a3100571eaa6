"""Read one source completely: fetch or open it, parse its pages, clean every paper.

Every page a parser returns passes ``clean.clean_page`` before anyone stores or shows its
papers. Whatever goes wrong while a source is read or parsed, foreseen or not, ends as one
``SourceError`` line naming that source. Nothing here stores: ``app/ingest.py`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from newsletter.config import Config, SourceSettings
from newsletter.errors import SourceError
from newsletter.models import Paper, Validators, merge_papers
from newsletter.sources import folders
from newsletter.sources.base import Page, ParseContext, ParseError
from newsletter.sources.clean import clean_line, clean_page
from newsletter.sources.http import Fetcher
from newsletter.sources.local import read_file
from newsletter.sources.registry import detect_kind, get_kind, kind_for_url, settings_for

MAX_PROBLEM = 300  # characters of an unforeseen exception's message in a report
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reading:
    """What one source held right now: its pages, or nothing new since the last check."""

    pages: tuple[Page, ...]
    validators: Validators | None = None
    not_modified: bool = False

    @property
    def papers(self) -> list[Paper]:
        return [p for page in self.pages for p in page.papers]


def source_name(spec: SourceSettings) -> str:
    return spec.name or spec.location


def read_source(
    spec: SourceSettings,
    fetcher: Fetcher,
    config: Config,
    today: date,
    validators: Validators | None = None,
) -> Reading:
    """Fetch (or read) and parse one source completely, or raise ``SourceError``.

    A folder or glob is read as one source whose pages are its files (``ingest`` reads each
    file as a source of its own instead).
    """
    try:
        if spec.path:
            files = folders.pages(spec, config)
            return Reading(tuple(_read_file(page, config, today) for page in files))
        return _read_url(spec, fetcher, today, validators)
    except SourceError as exc:
        raise SourceError(clean_line(exc.source), clean_line(exc.problem)) from None
    except Exception as exc:  # a parser's or a library's surprise: still one line, this source
        log.debug("reading %r failed", source_name(spec), exc_info=True)
        raise SourceError(clean_line(source_name(spec)), unforeseen(exc)) from None


def unforeseen(exc: BaseException) -> str:
    """One line for an exception nobody planned for: its type and its message's first line."""
    lines = str(exc).strip().splitlines()
    message = clean_line(lines[0])[:MAX_PROBLEM] if lines else ""
    return f"unexpected {type(exc).__name__}" + (f": {message}" if message else "")


def _read_file(spec: SourceSettings, config: Config, today: date) -> Page:
    name = source_name(spec)
    try:
        path = config.path(spec.path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise SourceError(name, f"cannot read file: {exc}") from None
    body = read_file(path, config.fetch.max_bytes, name)
    kind = get_kind(spec.kind or detect_kind(Path(path), body), name)
    return _parse(kind.parse, body, ParseContext(str(path), today, spec.year), name)


def _read_url(
    spec: SourceSettings, fetcher: Fetcher, today: date, validators: Validators | None
) -> Reading:
    name = source_name(spec)
    kind = get_kind(spec.kind or kind_for_url(spec.url), name)
    url: str | None = kind.first_url(spec.url, spec, today)
    pages: list[Page] = []
    first_validators = None
    while url and len(pages) < max(1, spec.max_pages):
        response = fetcher.get(url, name, validators if not pages else None)
        if response.not_modified:
            return Reading((), response.validators, not_modified=True)
        first_validators = first_validators or response.validators
        page = _parse(kind.parse, response.body, ParseContext(response.url, today, spec.year), name)
        pages.append(page)
        url = page.next_url
    return Reading(tuple(pages), first_validators)


def _parse(
    parse: Callable[[bytes, ParseContext], Page], body: bytes, ctx: ParseContext, name: str
) -> Page:
    try:
        return clean_page(parse(body, ctx))
    except ParseError as exc:
        raise SourceError(name, str(exc)) from None


def load_papers(
    locations: list[str],
    config: Config,
    today: date,
    on_error: Callable[[SourceError], None] | None = None,
) -> list[Paper]:
    """Read-only: parse the given URLs, files, folders or globs and return their papers.

    Nothing is stored. A page that fails raises ``SourceError``, or, when ``on_error`` is
    given, is passed to it and left out while the other pages are still read.
    """
    out: dict[str, Paper] = {}
    specs = folders.expand([settings_for(location) for location in locations], config)
    with Fetcher(config.fetch) as fetcher:
        for spec in specs:
            for paper in _papers_of(spec, fetcher, config, today, on_error):
                out[paper.key] = merge_papers(out[paper.key], paper) if paper.key in out else paper
    return list(out.values())


def _papers_of(
    spec: SourceSettings,
    fetcher: Fetcher,
    config: Config,
    today: date,
    on_error: Callable[[SourceError], None] | None,
) -> list[Paper]:
    try:
        return read_source(spec, fetcher, config, today).papers
    except SourceError as exc:
        if on_error is None:
            raise
        on_error(exc)
        return []
