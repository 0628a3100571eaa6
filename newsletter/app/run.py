"""One run of the newsletter, in order: fetch -> sync readers -> ask the arXiv API (liked
papers no source brought, new papers' categories) -> embed ahead -> enqueue -> send.

``newsletter run``, ``demo`` and every scheduler tick go through here, so adding a step to a
run is one edit in this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from newsletter.app.arxiv_lookup import LookupReport, categorise, client, look_up
from newsletter.app.channels import ChannelBuilder, channel_mailer
from newsletter.app.enqueue import BATCH, EnqueueReport, enqueue_all, enqueue_due
from newsletter.app.ingest import SourceReport, ingest
from newsletter.app.model_doors import ModelRun
from newsletter.app.queued_issue import Builder
from newsletter.app.readers import sync_subscribers
from newsletter.app.stages import Stages
from newsletter.app.vectors import embed_ahead
from newsletter.config import Config
from newsletter.delivery.base import Mailer
from newsletter.delivery.outbox import SendReport, send_due
from newsletter.models import Subscriber
from newsletter.schedule import due_date
from newsletter.sources.http import Fetcher
from newsletter.store import locks
from newsletter.store.profiles import iter_active
from newsletter.store.retention import PruneReport, prune

OnSource = Callable[[SourceReport], None]
ENQUEUED = "enqueue"  # the name under which the last pass over every reader is noted


@dataclass
class RunReport:
    """What one run did at each stage."""

    fetched: list[SourceReport] = field(default_factory=list)
    arxiv: list[LookupReport] = field(default_factory=list)
    enqueue: EnqueueReport = field(default_factory=EnqueueReport)
    send: SendReport | None = None
    model: list[str] = field(default_factory=list)  # what the language model was asked

    @property
    def failed_sources(self) -> int:
        return sum(r.status == "failed" for r in self.fetched)

    def describe(self) -> str:
        """The arXiv lines when ids were asked, the enqueue line, the send line if any."""
        lines = [r.describe() for r in self.arxiv if r.said]
        lines.append(self.enqueue.describe())
        if self.send is not None:
            lines.append(self.send.describe())
        return "\n".join([*lines, *self.model])


def fetch(
    stages: Stages, fetcher: Fetcher, now: datetime, on_source: OnSource | None = None,
    model: ModelRun | None = None,
) -> list[SourceReport]:
    """Pull every enabled source into the store; one report per source, failures included."""
    specs = [s for s in stages.config.sources if s.enabled]
    return ingest(stages.engine, stages.config, specs, fetcher, now, on_source, model)


def look_up_arxiv(stages: Stages, now: datetime) -> list[LookupReport]:
    """Ask the arXiv API, once each and at one pace, for the liked papers of active readers
    that no source brought, then for the categories of new papers (after a failure, nothing
    more: both are asked next run)."""
    with client(stages.config) as api:
        liked = look_up(stages.engine, api, iter_active(stages.engine, BATCH), now)
        return [liked, categorise(stages.engine, api, now)]


def deliver(
    stages: Stages,
    now: datetime,
    mailer: Mailer | None,
    readers: Iterable[Subscriber] | None = None,
    owner: str | None = None,
    sync: bool = True,
    model: ModelRun | None = None,
) -> tuple[EnqueueReport, SendReport | None]:
    """Sync the readers (unless told not to), enqueue what is due (for ``readers`` when given,
    else every active reader) and, given a mailer, send what is due in the outbox; ``model``
    is the run's use of the language model (each enqueue starts its own without it)."""
    config, engine = stages.config, stages.engine
    if sync:
        sync_subscribers(config, engine, now)
    readers = list(readers) if readers is not None else None
    if model is not None:  # phrases first, so that they are embedded ahead with the rest
        due = readers if readers is not None else iter_active(engine, BATCH)
        model.expand([s for s in due if due_date(s, now) is not None])
    if readers is None:
        embed_ahead(stages, now, iter_active(engine, BATCH))
        enqueued = enqueue_all(stages, now, config.schedule.enqueue_processes, model=model)
        locks.note_done(engine, ENQUEUED, now=now)  # for `status`: a pass over everyone ran
    else:
        embed_ahead(stages, now, readers)
        enqueued = enqueue_due(stages, readers, now, model=model)
    sent = None
    if mailer is not None:
        build = ChannelBuilder(Builder(engine, stages.composer, config), config, engine)
        sent = send_due(engine, mailer, config.delivery, now=now, owner=owner, build=build,
                        channels=channel_mailer(config))
    return enqueued, sent


def run_once(
    stages: Stages,
    now: datetime,
    fetcher: Fetcher,
    mailer: Mailer | None,
    on_source: OnSource | None = None,
) -> RunReport:
    """Fetch every configured source, then enqueue and (given a mailer) send what is due; with
    ``[llm]`` set, one run of the language model serves the whole pass (one budget)."""
    run = ModelRun.start(stages.config, stages.engine)
    fetched = fetch(stages, fetcher, now, on_source, run)
    sync_subscribers(stages.config, stages.engine, now)
    arxiv = look_up_arxiv(stages, now)
    enqueued, sent = deliver(stages, now, mailer, sync=False, model=run)
    said = []
    if run is not None:
        run.record()
        said = run.describe()
    return RunReport(fetched, arxiv, enqueued, sent, said)


def catch_up(
    stages: Stages, missed: Sequence[tuple[datetime, list[Subscriber]]],
    model: ModelRun | None = None,
) -> EnqueueReport:
    """Enqueue the issues of readers whose day ended at each missed moment, oldest first."""
    total = EnqueueReport()
    for moment, readers in sorted(missed, key=lambda item: item[0]):
        embed_ahead(stages, moment, readers)
        total = total + enqueue_due(stages, readers, moment, model=model)
    return total


def prune_old(config: Config, engine: Engine, now: datetime) -> PruneReport:
    """Drop delivery details older than ``[delivery] prune_after_days`` and kept copies of
    sent messages older than ``keep_sent_messages_days``; the reading history stays."""
    d = config.delivery
    with engine.begin() as conn:
        return prune(conn, details_before=now - timedelta(days=d.prune_after_days),
                     messages_before=now - timedelta(days=d.keep_sent_messages_days))
