"""The arXiv API (``export.arxiv.org/api/query``): papers by arXiv id, asked in batches of at
most 100 ids, each request at least 3 s after the previous one ended (arXiv's terms of use),
read from its Atom answer with each paper's primary and cross-list categories.

A client asks without retries (a retry would come sooner than 3 s) and, once a request has
failed, asks nothing more: a slow or broken arXiv costs a run one request's time at most, and
what was not answered is asked next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from urllib.parse import urlencode

from newsletter.config import FetchSettings
from newsletter.errors import SourceError
from newsletter.models import Paper
from newsletter.sources import feed
from newsletter.sources.base import ParseContext, ParseError
from newsletter.sources.http import Fetcher

PER_REQUEST = 100  # ids in one request (arXiv answers up to 2,000; 100 keeps answers small)
INTERVAL = 3.0  # seconds from the end of one request to the start of the next, at least
MAX_ANSWER = 5_000_000  # bytes: an answer for 100 ids is about 300 kB
SOURCE = "arXiv API"


@dataclass(frozen=True)
class Batch:
    """One request's answer: the ids asked, the papers arXiv gave for them (liked papers are
    read from these) and the categories of every entry it gave for them."""

    asked: list[str]
    papers: dict[str, Paper]
    categories: dict[str, tuple[str, ...]]


class ArxivApi:
    """One client per run, so that every lookup of the run keeps the same pace."""

    def __init__(
        self,
        fetcher: Fetcher,
        url: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetcher, self.url = fetcher, url
        self._sleep, self._clock = sleep, clock
        self._last: float | None = None
        self.asked = 0  # ids asked so far, answered or not
        self.failed = ""  # why a request failed: the client asks nothing more

    @classmethod
    def open(cls, url: str, settings: FetchSettings) -> ArxivApi:
        """A client with a fetcher of its own: no retries, one timeout per request, answers
        of at most ``MAX_ANSWER`` bytes. Close it (``contextlib.closing``)."""
        own = replace(settings, retries=0, max_bytes=min(settings.max_bytes, MAX_ANSWER))
        return cls(Fetcher(own, deadline=settings.timeout), url)

    def close(self) -> None:
        self.fetcher.close()

    def batches(self, ids: Sequence[str], today: date) -> Iterator[Batch]:
        """For each batch of ``ids``, what arXiv gave for them. A batch that fails (or an
        earlier failure of this client) raises ``SourceError`` naming the API; the batches
        before it are yielded."""
        for start in range(0, len(ids), PER_REQUEST):
            if self.failed:
                raise SourceError(SOURCE, self.failed)
            chunk = list(ids[start : start + PER_REQUEST])
            query = urlencode({"id_list": ",".join(chunk), "max_results": len(chunk)})
            url = f"{self.url}?{query}"
            self.asked += len(chunk)
            try:
                yield read(self._get(url), chunk, ParseContext(origin=url, today=today))
            except SourceError as exc:
                self.failed = exc.problem
                raise

    def _get(self, url: str) -> bytes:
        if self._last is not None:
            wait = self._last + INTERVAL - self._clock()
            if wait > 0:
                self._sleep(wait)
        try:
            return self.fetcher.get(url, SOURCE).body
        finally:
            self._last = self._clock()


def read(body: bytes, asked: list[str], ctx: ParseContext) -> Batch:
    """The entries of one answer that are about ``asked`` ids (other entries, such as
    arXiv's error entries, are left out); categories are read even from an entry that is no
    paper (no abstract, an overlong title)."""
    try:
        doc, _ = feed.read_document(body)
    except ParseError as exc:
        raise SourceError(SOURCE, str(exc)) from None
    wanted = set(asked)
    papers: dict[str, Paper] = {}
    categories: dict[str, tuple[str, ...]] = {}
    for entry in doc.entries:
        arxiv_id = feed.arxiv_id_of(entry)
        if arxiv_id not in wanted:
            continue
        categories[arxiv_id] = feed.categories(entry, arxiv=True)
        paper = feed.paper_from_entry(entry, arxiv=True)
        if isinstance(paper, Paper):
            papers[arxiv_id] = paper
    return Batch(asked, papers, categories)
