"""What the arXiv API adds, asked once per paper: the liked papers that no source brought (a
reader's library, ``papers = [...]``), cached so that "more like these" has their abstracts,
and the categories of stored papers with an arXiv id, which matching reads as field text.

``[match] arxiv_api`` (or ``NEWSLETTER_ARXIV_API``) names the API; "" turns both off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from newsletter.app.issue import CANDIDATE_DAYS
from newsletter.config import Config
from newsletter.errors import SourceError
from newsletter.library_files import expand
from newsletter.models import Subscriber
from newsletter.sources.arxiv_api import SOURCE, ArxivApi, Batch
from newsletter.store import paper_categories
from newsletter.store.library_papers import known, remember

CATEGORIES_PER_RUN = 1000  # papers whose categories one run asks (10 requests, about 30 s)
CANDIDATES = timedelta(days=CANDIDATE_DAYS)  # older papers are in no issue: not asked


@dataclass
class LookupReport:
    """What one lookup did: ids asked, papers found, and the error that stopped it, if any."""

    what: str = "liked papers"
    asked: int = 0
    found: int = 0
    error: str = ""

    def describe(self) -> str:
        line = f"{self.what} looked up in the arXiv API: {self.asked} asked, {self.found} found"
        return f"{line}; stopped: {self.error}" if self.error else line

    @property
    def said(self) -> bool:
        """Whether there is anything to tell (ids were asked, or asking failed)."""
        return bool(self.asked or self.error)


def categories_line(config: Config, engine: Engine, now: datetime) -> str:
    """What ``status`` says of the arXiv categories of recent papers (or that asking is off)."""
    if not config.match.arxiv_api:
        return "arXiv categories: off ([match] arxiv_api is \"\")"
    with engine.connect() as conn:
        have, waiting = paper_categories.counts(conn, now - CANDIDATES)
    return (f"arXiv categories of the last {CANDIDATE_DAYS} days' papers with an arXiv id: "
            f"{have} known, {waiting} not asked yet ({config.match.arxiv_api})")


@contextmanager
def client(config: Config) -> Iterator[ArxivApi | None]:
    """The arXiv API client of one run (one pace for all its lookups, and once a request
    failed, no more asking); None when turned off."""
    if not config.match.arxiv_api:
        yield None
        return
    with closing(ArxivApi.open(config.match.arxiv_api, config.fetch)) as api:
        yield api


def liked_ids(subs: Iterable[Subscriber]) -> list[str]:
    """Every ``arxiv:`` key the readers like by id (their ``papers`` and their libraries)."""
    keys = [f"arxiv:{p}" for s in subs for p in s.papers if not p.startswith("title:")]
    keys += [k for s in subs for k in expand(s.library) if k.startswith("arxiv:")]
    return list(dict.fromkeys(keys))


def look_up(
    engine: Engine, api: ArxivApi | None, subs: Iterable[Subscriber], now: datetime
) -> LookupReport:
    """Ask the arXiv API, in batches, for the liked ids neither stored nor asked before."""
    report = LookupReport()
    if api is None:
        return report
    wanted = liked_ids(subs)
    with engine.connect() as conn:
        have = known(conn, wanted)
    missing = [k.removeprefix("arxiv:") for k in wanted if k not in have]

    def keep(batch: Batch) -> int:
        asked = [f"arxiv:{i}" for i in batch.asked]
        with engine.begin() as conn:
            return remember(conn, batch.papers.values(), asked, now)

    return _ask(api, missing, now, report, keep)


def categorise(engine: Engine, api: ArxivApi | None, now: datetime) -> LookupReport:
    """Ask the arXiv API for the categories of the candidate papers (first seen in the last
    ``CANDIDATE_DAYS``) never asked about, newest first, at most ``CATEGORIES_PER_RUN`` (the
    rest next run). A failure stops there, and what was not answered is asked next run; so
    is a batch answered with none of its papers (arXiv's API gives an empty page at times):
    only ids missing from an answer that holds others are stored as having none."""
    report = LookupReport("paper categories")
    if api is None:
        return report
    with engine.connect() as conn:
        ids = paper_categories.not_asked(conn, now - CANDIDATES, CATEGORIES_PER_RUN)

    def keep(batch: Batch) -> int:
        if not batch.categories:
            raise SourceError(SOURCE, f"an answer without any of the {len(batch.asked)} "
                                      "papers asked (asked again next run)")
        with engine.begin() as conn:
            return paper_categories.keep(conn, batch.categories, batch.asked)

    return _ask(api, ids, now, report, keep)


def _ask(
    api: ArxivApi, ids: list[str], now: datetime, report: LookupReport,
    keep: Callable[[Batch], int],
) -> LookupReport:
    """Ask about ``ids`` batch by batch, ``keep`` each answer (it returns how many it found),
    until done or a failure, which the report then names."""
    start = api.asked
    try:
        for batch in api.batches(ids, now.date()):
            report.found += keep(batch)
    except SourceError as exc:
        report.error = str(exc)
    report.asked = api.asked - start
    return report
