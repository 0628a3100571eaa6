"""Enqueue today's issue for every due reader: match, render and store one message each.

Readers are handled in bounded batches so memory does not grow with their number; the heavy
work can be split over several processes (PostgreSQL only; SQLite allows one writer).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.engine import Connection

from newsletter import addresses
from newsletter.app.issue import candidates, compose, history, pick
from newsletter.app.parts import Parts
from newsletter.config import Config
from newsletter.models import Paper, Subscriber
from newsletter.schedule import due_date
from newsletter.store import open_engine
from newsletter.store.db import is_sqlite
from newsletter.store.history import record_sent_many
from newsletter.store.outbox import enqueue_many, rows_for
from newsletter.store.profiles import Shard, iter_active
from newsletter.wording import count

BATCH = 500  # subscribers matched, rendered and enqueued per transaction


@dataclass
class EnqueueReport:
    """What one pass over the subscribers did, with the reason for each subscriber skipped."""

    enqueued: int = 0
    already: int = 0
    quiet: int = 0
    not_due: int = 0
    papers: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # email -> why no email now

    def __add__(self, other: EnqueueReport) -> EnqueueReport:
        """Two passes (shards, or a catch-up and today's run) as one."""
        return EnqueueReport(
            self.enqueued + other.enqueued,
            self.already + other.already,
            self.quiet + other.quiet,
            self.not_due + other.not_due,
            max(self.papers, other.papers),
            self.skipped | other.skipped,
        )

    def describe(self) -> str:
        """One plain line: what was enqueued and why the others were not."""
        return (
            f"matched {count(self.papers, 'candidate paper')}: "
            f"{count(self.enqueued, 'issue')} enqueued, {self.already} already queued, "
            f"{self.quiet} with nothing matched, {self.not_due} not due"
        )


def enqueue_due(
    parts: Parts,
    subscribers: Iterable[Subscriber],
    now: datetime,
    papers: Sequence[Paper] | None = None,
    on_batch: Callable[[EnqueueReport], None] | None = None,
) -> EnqueueReport:
    """Match, render and enqueue today's issue for every due subscriber, batch by batch."""
    report = EnqueueReport()
    with parts.engine.connect() as conn:
        pool = list(papers) if papers is not None else candidates(conn, now)
    report.papers = len(pool)
    for batch in _batches(_due(subscribers, now, report), BATCH):
        _enqueue_batch(parts, batch, pool, now, report)
        if on_batch:
            on_batch(report)
    return report


def _due(
    subscribers: Iterable[Subscriber], now: datetime, report: EnqueueReport
) -> Iterator[tuple[Subscriber, date]]:
    for sub in subscribers:
        day = due_date(sub, now)
        if day is None:
            report.not_due += 1
            report.skipped[sub.email] = "not due"
        else:
            yield sub, day


def _batches(
    items: Iterable[tuple[Subscriber, date]], size: int
) -> Iterator[list[tuple[Subscriber, date]]]:
    batch: list[tuple[Subscriber, date]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _enqueue_batch(
    parts: Parts,
    batch: list[tuple[Subscriber, date]],
    pool: Sequence[Paper],
    now: datetime,
    report: EnqueueReport,
) -> None:
    # Matching reads (and may cache embeddings) on connections of its own, so it runs before
    # the write transaction: a long write lock held across it would stall SQLite.
    with parts.engine.connect() as conn:
        fresh = _not_yet_queued(conn, batch, report)
        past = history(conn, [s for s, _ in fresh])
    chosen = pick(parts.matcher, [s for s, _ in fresh], pool, past)
    messages = []
    for sub, day in fresh:
        picks = chosen.get(sub.email, [])
        _, _, message = compose(parts, sub, day, picks, now)
        if message is None:
            report.quiet += 1
            report.skipped[sub.email] = "nothing matched"
        else:
            messages.append((sub, day, picks, message))
    with parts.engine.begin() as conn:
        added = enqueue_many(conn, [(m, day.isoformat()) for _, day, _, m in messages], now=now)
        sent = [
            (sub.email, [p.paper.key for p in picks], day)
            for sub, day, picks, message in messages
            if (addresses.key(message.to), day.isoformat()) in added
        ]
        record_sent_many(conn, sent, now)
        report.enqueued += len(sent)


def _not_yet_queued(
    conn: Connection, batch: list[tuple[Subscriber, date]], report: EnqueueReport
) -> list[tuple[Subscriber, date]]:
    """Drop subscribers whose issue for that date is already in the outbox."""
    by_day: dict[str, list[str]] = {}
    for sub, day in batch:
        by_day.setdefault(day.isoformat(), []).append(sub.email)
    queued = {
        (addresses.key(email), day)
        for day, emails in by_day.items()
        for email in rows_for(conn, emails, day)
    }
    fresh = [(s, d) for s, d in batch if (addresses.key(s.email), d.isoformat()) not in queued]
    report.already += len(batch) - len(fresh)
    for sub, day in batch:
        if (addresses.key(sub.email), day.isoformat()) in queued:
            report.skipped[sub.email] = "already queued"
    return fresh


def enqueue_all(
    parts: Parts, now: datetime, processes: int, papers: Sequence[Paper] | None = None
) -> EnqueueReport:
    """Enqueue today's issue for every due active subscriber with up to ``processes``."""
    if processes <= 1 or is_sqlite(parts.engine):
        return enqueue_due(parts, iter_active(parts.engine, BATCH), now, papers)
    pool_papers = list(papers) if papers is not None else None
    # spawn, not fork: the parent may hold database connections, threads and a loaded model.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        futures = [
            pool.submit(_enqueue_shard, parts.config, now, (k, processes), pool_papers)
            for k in range(processes)
        ]
        return sum((future.result() for future in futures), EnqueueReport())


def _enqueue_shard(
    config: Config, now: datetime, shard: Shard, papers: list[Paper] | None
) -> EnqueueReport:
    engine = open_engine(config.database_url, upgrade=False)
    try:
        parts = Parts.build(config, engine)
        return enqueue_due(parts, iter_active(engine, BATCH, shard), now, papers)
    finally:
        engine.dispose()
