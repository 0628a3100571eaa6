"""Liked papers that no source brought (a reader's library, ``papers = [...]``) are looked up
once in the arXiv API and cached, so that "more like these" has their abstracts to compare.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy.engine import Engine

from newsletter.errors import SourceError
from newsletter.library_files import expand
from newsletter.models import Subscriber
from newsletter.sources import feed
from newsletter.sources.base import ParseContext, ParseError
from newsletter.sources.http import Fetcher
from newsletter.store.library_papers import known, remember

PER_REQUEST = 50  # ids asked in one arXiv API call
SOURCE = "arXiv API"


@dataclass
class LookupReport:
    """What one lookup did: ids asked, papers found, and the error that stopped it, if any."""

    asked: int = 0
    found: int = 0
    error: str = ""

    def describe(self) -> str:
        line = f"liked papers looked up in the arXiv API: {self.asked} asked, {self.found} found"
        return f"{line}; stopped: {self.error}" if self.error else line


def liked_ids(subs: Iterable[Subscriber]) -> list[str]:
    """Every ``arxiv:`` key the readers like by id (their ``papers`` and their libraries)."""
    keys = [f"arxiv:{p}" for s in subs for p in s.papers if not p.startswith("title:")]
    keys += [k for s in subs for k in expand(s.library) if k.startswith("arxiv:")]
    return list(dict.fromkeys(keys))


def look_up(
    engine: Engine, fetcher: Fetcher, api: str, subs: Iterable[Subscriber], now: datetime
) -> LookupReport:
    """Ask the arXiv API, in batches, for the liked ids neither stored nor asked before."""
    wanted = liked_ids(subs)
    with engine.connect() as conn:
        have = known(conn, wanted)
    missing = [k for k in wanted if k not in have]
    report = LookupReport()
    for start in range(0, len(missing), PER_REQUEST):
        chunk = missing[start : start + PER_REQUEST]
        ids = ",".join(k.removeprefix("arxiv:") for k in chunk)
        url = f"{api}?{urlencode({'id_list': ids, 'max_results': len(chunk)})}"
        report.asked += len(chunk)  # asked, whether or not an answer comes
        try:
            body = fetcher.get(url, SOURCE).body
            page = feed.parse(body, ParseContext(origin=url, today=now.date()))
        except SourceError as exc:
            report.error = str(exc)
            return report
        except ParseError as exc:
            report.error = f"{SOURCE}: {exc}"
            return report
        asked = set(chunk)
        found = [p for p in page.papers if p.key in asked]
        with engine.begin() as conn:
            report.found += remember(conn, found, chunk, now)
    return report
