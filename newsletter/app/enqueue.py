"""Enqueue today's issue for every due reader: match, and store what each one gets.

A row holds the picks and the pinned template version, not a message: the worker renders it
when it sends it (``app/queued_issue.py``). One issue per batch is rendered here all the same, so a
template that fails at render time stops the enqueue instead of every send.

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
from newsletter.app.issue import Model, candidates, compose, history, pick
from newsletter.app.model_doors import ModelRun
from newsletter.app.queued_issue import queued
from newsletter.app.stages import Stages
from newsletter.config import Config
from newsletter.match import Matcher
from newsletter.models import Paper, Subscriber
from newsletter.schedule import due_date
from newsletter.store import open_engine, pins
from newsletter.store.db import is_sqlite
from newsletter.store.embeddings import StoreCache
from newsletter.store.outbox import enqueue_issues, rows_for
from newsletter.store.profiles import Shard, iter_active
from newsletter.wording import count

BATCH = 500  # subscribers matched and enqueued per transaction


@dataclass
class EnqueueReport:
    """What one pass over the subscribers did, with the reason for each subscriber skipped."""

    enqueued: int = 0
    already: int = 0
    quiet: int = 0
    not_due: int = 0
    papers: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # email -> why no email now
    reranked: int = 0  # readers whose issue the language model reranked
    not_reranked: int = 0  # ... who got the doors' ranking instead (budget, model failing)

    def __add__(self, other: EnqueueReport) -> EnqueueReport:
        """Two passes (shards, or a catch-up and today's run) as one."""
        return EnqueueReport(
            self.enqueued + other.enqueued,
            self.already + other.already,
            self.quiet + other.quiet,
            self.not_due + other.not_due,
            max(self.papers, other.papers),
            self.skipped | other.skipped,
            self.reranked + other.reranked,
            self.not_reranked + other.not_reranked,
        )

    def describe(self) -> str:
        """One plain line: what was enqueued and why the others were not."""
        line = (
            f"matched {count(self.papers, 'candidate paper')}: "
            f"{count(self.enqueued, 'issue')} enqueued, {self.already} already queued, "
            f"{self.quiet} with nothing matched, {self.not_due} not due"
        )
        if self.reranked or self.not_reranked:
            line += (f"; reranked by the language model: {self.reranked} of "
                     f"{count(self.reranked + self.not_reranked, 'reader')}")
        return line


def enqueue_due(
    stages: Stages,
    subscribers: Iterable[Subscriber],
    now: datetime,
    papers: Sequence[Paper] | None = None,
    on_batch: Callable[[EnqueueReport], None] | None = None,
    model: ModelRun | None = None,
) -> EnqueueReport:
    """Match, render and enqueue today's issue for every due subscriber, batch by batch;
    with ``[llm]`` set, the model's answers are used (asked within ``model``, this pass's
    run, or a run of its own)."""
    report = EnqueueReport()
    run = model or ModelRun.start(stages.config, stages.engine)
    with stages.engine.connect() as conn:
        pool = list(papers) if papers is not None else candidates(conn, now)
    report.papers = len(pool)
    for batch in _batches(_due(subscribers, now, report), BATCH):
        _enqueue_batch(stages, batch, pool, now, report, run)
        if on_batch:
            on_batch(report)
    if run is not None and model is None:
        run.record()
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
    stages: Stages,
    batch: list[tuple[Subscriber, date]],
    pool: Sequence[Paper],
    now: datetime,
    report: EnqueueReport,
    run: ModelRun | None = None,
) -> None:
    # Matching reads (and may cache embeddings) on connections of its own, so it runs before
    # the write transaction: a long write lock held across it would stall SQLite.
    with stages.engine.connect() as conn:
        fresh = _not_yet_queued(conn, batch, report)
        past = history(conn, [s for s, _ in fresh], now)
    before = (run.reranked, run.not_reranked) if run else (0, 0)
    model = Model(stages.config, stages.engine, run)
    chosen = pick(stages.matcher, [s for s, _ in fresh], pool, past, model)
    if run is not None:
        report.reranked += run.reranked - before[0]
        report.not_reranked += run.not_reranked - before[1]
    version, files, settings = stages.renderer.pin()
    rows, tried = [], False
    for sub, day in fresh:
        picks = chosen.get(sub.email, [])
        if not picks and stages.config.email.quiet_day == "skip":
            report.quiet += 1
            report.skipped[sub.email] = "nothing matched"
            continue
        if not tried:  # a template error shows here, once, not at every send
            compose(stages, sub, day, picks, now)
            tried = True
        rows.append(queued(stages, sub, day, picks, version))
    with stages.engine.begin() as conn:
        if rows:
            pins.save(conn, pins.Pin(version, files, settings), now=now)
        report.enqueued += len(enqueue_issues(conn, rows, now=now))


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
    stages: Stages, now: datetime, processes: int, papers: Sequence[Paper] | None = None,
    model: ModelRun | None = None,
) -> EnqueueReport:
    """Enqueue today's issue for every due active subscriber with up to ``processes`` (each
    shard process asks the language model within a run of its own)."""
    if processes <= 1 or is_sqlite(stages.engine):
        return enqueue_due(stages, iter_active(stages.engine, BATCH), now, papers, model=model)
    pool_papers = list(papers) if papers is not None else None
    # spawn, not fork: the parent may hold database connections, threads and a loaded model.
    context = multiprocessing.get_context("spawn")
    fields_now = dict(stages.matcher.vocabulary)
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        futures = [
            pool.submit(
                _enqueue_shard, stages.config, now, (k, processes), pool_papers, fields_now
            )
            for k in range(processes)
        ]
        return sum((future.result() for future in futures), EnqueueReport())


def _enqueue_shard(
    config: Config,
    now: datetime,
    shard: Shard,
    papers: list[Paper] | None,
    vocabulary: dict[str, tuple[str, ...]],
) -> EnqueueReport:
    engine = open_engine(config.database_url, upgrade=False)
    try:
        # the parent's fields: a shard matches as embed-ahead did, even if the file broke since
        matcher = Matcher.from_settings(config.match, StoreCache(engine), vocabulary)
        stages = Stages.build(config, engine, matcher)
        return enqueue_due(stages, iter_active(engine, BATCH, shard), now, papers)
    finally:
        engine.dispose()
