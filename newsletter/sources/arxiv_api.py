"""The arXiv API (``export.arxiv.org/api/query``): papers by arXiv id, asked in batches of at
most 100 ids, each request at least 3 s after the previous one ended (arXiv's terms of use),
read from its Atom answer with each paper's primary and cross-list categories.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from urllib.parse import urlencode

from newsletter.errors import SourceError
from newsletter.models import Paper
from newsletter.sources import feed
from newsletter.sources.base import ParseContext, ParseError
from newsletter.sources.http import Fetcher

PER_REQUEST = 100  # ids in one request (arXiv answers up to 2,000; 100 keeps answers small)
INTERVAL = 3.0  # seconds from the end of one request to the start of the next, at least
SOURCE = "arXiv API"

Batch = tuple[list[str], dict[str, Paper]]  # the ids asked, and the papers found among them


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

    def papers(self, ids: Sequence[str], today: date) -> Iterator[Batch]:
        """For each batch of ``ids``: the ids asked and the papers arXiv gave for them. A batch
        that fails raises ``SourceError`` naming the API; the batches before it are yielded."""
        for start in range(0, len(ids), PER_REQUEST):
            chunk = list(ids[start : start + PER_REQUEST])
            query = urlencode({"id_list": ",".join(chunk), "max_results": len(chunk)})
            url = f"{self.url}?{query}"
            self.asked += len(chunk)
            body = self._get(url)
            try:
                page = feed.parse(body, ParseContext(origin=url, today=today))
            except ParseError as exc:
                raise SourceError(SOURCE, str(exc)) from None
            asked = set(chunk)
            yield chunk, {p.arxiv_id: p for p in page.papers if p.arxiv_id in asked}

    def _get(self, url: str) -> bytes:
        if self._last is not None:
            wait = self._last + INTERVAL - self._clock()
            if wait > 0:
                self._sleep(wait)
        try:
            return self.fetcher.get(url, SOURCE).body
        finally:
            self._last = self._clock()
