"""The unattended service: APScheduler jobs that fetch sources on a cron and send due issues.

Every job first takes (or renews) a lease in the database, so of several ``newsletter serve``
processes on one database only one acts. A tick after downtime also enqueues the issues whose
day ended while nothing ran (within the misfire grace), once: the outbox is unique per
(subscriber, issue date).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from newsletter.app.enqueue import BATCH, EnqueueReport
from newsletter.app.ingest import SourceReport
from newsletter.app.model_doors import ModelRun
from newsletter.app.readers import sync_subscribers
from newsletter.app.run import catch_up, deliver, fetch, look_up_arxiv, prune_old
from newsletter.app.stages import Stages
from newsletter.config import Config
from newsletter.delivery.base import Mailer
from newsletter.delivery.outbox import SendReport, default_owner
from newsletter.errors import ConfigError, NewsletterError
from newsletter.models import Subscriber
from newsletter.sources.http import Fetcher
from newsletter.store import locks
from newsletter.store.profiles import iter_active
from newsletter.wording import count

LEASE = "scheduler"
LEASE_TTL = timedelta(minutes=3)  # renewed every minute by the heartbeat job
Clock = Callable[[], datetime]
log = logging.getLogger("newsletter.service")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class TickReport:
    """What one tick did: issues enqueued (today's and caught-up ones) and the send round."""

    enqueue: EnqueueReport
    caught_up: int
    send: SendReport


class Service:
    """The jobs, with every outside part passed in: mailer, fetcher, clock, lease owner."""

    def __init__(
        self,
        stages: Stages,
        mailer: Callable[[], Mailer],
        fetcher: Callable[[], Fetcher] | None = None,
        clock: Clock = utcnow,
        owner: str | None = None,
    ) -> None:
        self.stages = stages
        self.mailer = mailer
        self.fetcher = fetcher or (lambda: Fetcher(stages.config.fetch))
        self.clock = clock
        self.owner = owner or default_owner()

    @property
    def config(self) -> Config:
        return self.stages.config

    @property
    def engine(self) -> Engine:
        return self.stages.engine

    def lead(self, job: str) -> bool:
        """Take or renew the database lease; log and return False when another process has it."""
        now = self.clock()
        if locks.acquire(self.engine, LEASE, self.owner, now=now, ttl=LEASE_TTL):
            return True
        with self.engine.connect() as conn:
            other = locks.holder(conn, LEASE)
        who = f"{other.owner} until {other.until:%H:%M:%S} UTC" if other else "another process"
        log.info("%s: skipped, the database lease is held by %s", job, who, extra={"job": job})
        return False

    def heartbeat(self) -> None:
        """Keep the lease while this process lives, even during a long send."""
        self.lead("heartbeat")

    def tick(self) -> TickReport | None:
        """Enqueue and send every issue that is due now (and any missed during downtime)."""
        if not self.lead("tick"):
            return None
        try:
            return self._tick()
        except NewsletterError as exc:  # a broken subscriber file, a mailer refusing...
            log.error("tick: failed: %s", exc, extra={"job": "tick"})
            return None

    def _tick(self) -> TickReport:
        now = self.clock()
        last = locks.last_done(self.engine, LEASE)
        sync_subscribers(self.config, self.engine, now)
        run = ModelRun.start(self.config, self.engine)  # one model budget for the whole tick
        try:
            caught_up = (self._catch_up(iter_active(self.engine, BATCH), last, now, run)
                         if last else 0)
            report, sent = deliver(self.stages, now, self.mailer(), owner=self.owner,
                                   sync=False, model=run)
        finally:
            if run is not None:
                run.record()
        locks.mark_done(self.engine, LEASE, self.owner, now=now)
        result = TickReport(report, caught_up, sent or SendReport())
        log.info("tick: %s", describe_tick(result), extra={"job": "tick"})
        return result

    def _catch_up(
        self, subs: Iterable[Subscriber], last: datetime, now: datetime,
        model: ModelRun | None = None,
    ) -> int:
        """Enqueue issues for local days that ended between the last tick and now."""
        grace = timedelta(hours=self.config.schedule.misfire_grace_hours)
        gap_from = max(last, now - grace)
        if now - gap_from <= timedelta(minutes=self.config.schedule.tick_minutes) * 2:
            return 0
        moments: dict[datetime, list[Subscriber]] = {}
        for sub in subs:
            for end in day_ends(sub.timezone, gap_from, now):
                moments.setdefault(end, []).append(sub)
        enqueued = catch_up(self.stages, list(moments.items()), model).enqueued
        if enqueued:
            log.info(
                "tick: caught up %d issues missed since %s",
                enqueued,
                f"{gap_from:%Y-%m-%d %H:%M} UTC",
                extra={"job": "tick"},
            )
        return enqueued

    def fetch(self) -> list[SourceReport] | None:
        """Pull every enabled source into the store."""
        if not self.lead("fetch"):
            return None
        try:
            return self._fetch()
        except NewsletterError as exc:
            log.error("fetch: failed: %s", exc, extra={"job": "fetch"})
            return None

    def _fetch(self) -> list[SourceReport]:
        with self.fetcher() as fetcher:
            reports = fetch(self.stages, fetcher, self.clock())  # labels within its own run
        looked = look_up_arxiv(self.stages, self.clock())
        for report in (r for r in looked if r.said):
            log.info("fetch: %s", report.describe(), extra={"job": "fetch"})
        new = sum(r.counts.new for r in reports)
        failed = [f"{r.source} ({r.error})" for r in reports if r.status == "failed"]
        log.info(
            "fetch: %s, fetched %s, %d failed%s",
            count(len(reports), "source"),
            count(new, "new paper"),
            len(failed),
            f": {'; '.join(failed)}" if failed else "",
            extra={"job": "fetch"},
        )
        return reports

    def prune(self) -> None:
        """Drop old delivery details (daily; see ``app.run.prune_old``)."""
        if not self.lead("prune"):
            return
        report = prune_old(self.config, self.engine, self.clock())
        log.info("prune: %s", report.describe(), extra={"job": "prune"})

    def stop(self) -> None:
        """Hand the lease back so another process can take over at once."""
        locks.release(self.engine, LEASE, self.owner, now=self.clock())


def day_ends(zone: str, start: datetime, end: datetime) -> list[datetime]:
    """The last second of each local day in ``zone`` that falls in ``[start, end)``."""
    tz = ZoneInfo(zone)
    day = start.astimezone(tz).date()
    found: list[datetime] = []
    while True:
        moment = datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(UTC)
        if moment >= end:
            return found
        if moment >= start:
            found.append(moment)
        day += timedelta(days=1)


def describe_tick(report: TickReport) -> str:
    """One plain line: enqueued, sent, skipped and why."""
    e = report.enqueue
    why = Counter(e.skipped.values())
    skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(why.items())) or "none"
    return (
        f"enqueued {e.enqueued} (caught up {report.caught_up}), {report.send.describe()}; "
        f"skipped {sum(why.values())} ({skipped})"
    )


def build_scheduler(service: Service, *, start_tick: bool = True) -> BackgroundScheduler:
    """The scheduler with its jobs: fetch (cron), tick (interval), lease heartbeat and a daily
    prune of old delivery details."""
    settings = service.config.schedule
    where = f"{service.config.origin}: key 'schedule"
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f"{where}.timezone': unknown timezone {settings.timezone!r}") from None
    try:
        cron = crontab_trigger(settings.fetch_cron, zone)
    except ValueError as exc:
        raise ConfigError(f"{where}.fetch_cron': {settings.fetch_cron!r}: {exc}") from None
    # coalesce: runs missed while the process slept collapse into one; the grace lets a run
    # that is hours late still happen (the outbox makes a late tick harmless).
    policy: dict[str, Any] = {
        "coalesce": True,
        "misfire_grace_time": max(1, int(settings.misfire_grace_hours * 3600)),
        "max_instances": 1,
    }
    scheduler = BackgroundScheduler(timezone=UTC, job_defaults=policy)
    scheduler.add_job(service.fetch, cron, id="fetch", name="fetch sources", **policy)
    first = service.clock() if start_tick else None
    scheduler.add_job(
        service.tick,
        IntervalTrigger(minutes=settings.tick_minutes),
        id="tick",
        name="send due issues",
        next_run_time=first,
        **policy,
    )
    scheduler.add_job(
        service.heartbeat,
        IntervalTrigger(minutes=1),
        id="heartbeat",
        name="renew the database lease",
        **policy,
    )
    scheduler.add_job(
        service.prune, IntervalTrigger(days=1), id="prune", name="prune old delivery details",
        **policy,
    )
    return scheduler


def crontab_trigger(expr: str, zone: ZoneInfo) -> CronTrigger:
    """A trigger for a standard five-field crontab line.

    APScheduler 3 numbers weekdays from Monday = 0, where cron says Sunday = 0 (and 7), so its
    own ``from_crontab`` would read "1-5" as Tuesday to Saturday; numbers are translated here.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekdays(weekday),
        timezone=zone,
    )


def _weekdays(field: str) -> str:
    """Cron weekday numbers (0 or 7 = Sunday) as an explicit list of APScheduler numbers."""
    if field == "*" or any(c.isalpha() for c in field):
        return field
    days: list[int] = []
    for part in field.split(","):
        span, _, step = part.partition("/")
        first, _, last = ("0-6" if span == "*" else span).partition("-")
        if not (first.isdigit() and (last or first).isdigit() and (step or "1").isdigit()):
            raise ValueError(f"bad weekday field {field!r}")
        days += range(int(first), int(last or first) + 1, int(step or "1"))
    if any(d > 7 for d in days):
        raise ValueError(f"weekday out of range in {field!r} (0-7, 0 and 7 are Sunday)")
    return ",".join(str(d) for d in sorted({(d - 1) % 7 for d in days}))
