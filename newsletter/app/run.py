"""Run a whole issue: fetch, then match, render and enqueue (in one process or several), send.

Match, render and enqueue is the heavy stage: one process enqueues about 200 subscribers a
second, most of it Python work on one core. On PostgreSQL the subscribers split by ``id``
modulo N into N shards, each handled by its own process with its own engine and stage
objects; the outbox's unique (recipient, issue) row keeps the result identical to one
process. SQLite allows one writer at a time, so there the issue is always enqueued in this
process.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from newsletter.config import Config
from newsletter.delivery.base import Mailer
from newsletter.delivery.outbox import SendReport, send_due
from newsletter.models import Paper
from newsletter.pipeline import BATCH, EnqueueReport, Parts, enqueue_due, sync_subscribers
from newsletter.sources.http import Fetcher
from newsletter.sources.ingest import SourceReport, ingest
from newsletter.store import open_engine
from newsletter.store.db import is_sqlite
from newsletter.store.subscriber_pages import Shard, iter_active


@dataclass
class RunReport:
    """What ``run_once`` did at each stage."""

    fetched: list[SourceReport] = field(default_factory=list)
    enqueue: EnqueueReport = field(default_factory=EnqueueReport)
    send: SendReport | None = None

    @property
    def failed_sources(self) -> int:
        return sum(r.status == "failed" for r in self.fetched)


def run_once(
    parts: Parts,
    now: datetime,
    fetcher: Fetcher,
    mailer: Mailer | None,
    on_report: Callable[[SourceReport], None] | None = None,
) -> RunReport:
    """Fetch every configured source, then enqueue and (given a mailer) send what is due."""
    config, engine = parts.config, parts.engine
    specs = [s for s in config.sources if s.enabled]
    report = RunReport(fetched=ingest(engine, config, specs, fetcher, now, on_report))
    sync_subscribers(config, engine, now)
    report.enqueue = enqueue_all(parts, now, config.schedule.enqueue_processes)
    if mailer is not None:
        report.send = send_due(engine, mailer, config.delivery, now=now)
    return report


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
        return merge([future.result() for future in futures])


def _enqueue_shard(
    config: Config, now: datetime, shard: Shard, papers: list[Paper] | None
) -> EnqueueReport:
    engine = open_engine(config.database_url, upgrade=False)
    try:
        parts = Parts.build(config, engine)
        return enqueue_due(parts, iter_active(engine, BATCH, shard), now, papers)
    finally:
        engine.dispose()


def merge(reports: Sequence[EnqueueReport]) -> EnqueueReport:
    """One report adding up the shards' reports."""
    total = EnqueueReport()
    for r in reports:
        total.enqueued += r.enqueued
        total.already += r.already
        total.quiet += r.quiet
        total.not_due += r.not_due
        total.papers = max(total.papers, r.papers)
        total.skipped.update(r.skipped)
    return total
