"""The one module that knows the order of the stages: fetch -> match -> render -> enqueue -> send.

Stages never import each other; this module hands each one the small models it needs.
Subscribers are handled in bounded batches so memory does not grow with their number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import formataddr
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from newsletter import tokens
from newsletter.config import Config, MatchSettings
from newsletter.delivery.compose import Composer, composer_from_config
from newsletter.errors import SubscriberError
from newsletter.match import Matcher
from newsletter.models import Issue, IssueLinks, OutgoingEmail, Paper, Pick, Subscriber
from newsletter.render import RenderedIssue, Renderer
from newsletter.schedule import due_date
from newsletter.sources.ingest import load_papers
from newsletter.store.embeddings import StoreCache
from newsletter.store.history import (
    feedback_many,
    record_sent_many,
    reference_papers,
    sent_keys_many,
)
from newsletter.store.outbox import address_key, enqueue_many, rows_for
from newsletter.store.papers import list_papers
from newsletter.store.profiles import active_subscribers, get_subscriber, sync_dir
from newsletter.subscribers import load_dir, load_file

BATCH = 500  # subscribers matched, rendered and enqueued per transaction


@dataclass(frozen=True)
class Parts:
    """The stage objects for one run, built once: matcher, renderer, composer."""

    config: Config
    engine: Engine
    matcher: Matcher
    renderer: Renderer
    composer: Composer

    @classmethod
    def build(cls, config: Config, engine: Engine, matcher: Matcher | None = None) -> Parts:
        user_templates = config.path(config.newsletter.templates_dir)
        return cls(
            config,
            engine,
            matcher or Matcher.from_settings(config.match, StoreCache(engine)),
            Renderer(config.newsletter, config.email, user_templates),
            composer_from_config(config),
        )


@dataclass
class EnqueueReport:
    """What one pass over the subscribers did, with the reason for each subscriber skipped."""

    enqueued: int = 0
    already: int = 0
    quiet: int = 0
    not_due: int = 0
    papers: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # email -> why no email now


def candidates(conn: Connection, now: datetime, days: int) -> list[Paper]:
    """Papers first seen in the last ``days`` days: what a new issue may draw from."""
    return list_papers(conn, since=now - timedelta(days=days))


def issue_links(composer: Composer, email: str, picks: Sequence[Pick], now: datetime) -> IssueLinks:
    """The signed unsubscribe, preferences and feedback links of one issue."""
    base, secret, key = composer.newsletter.base_url, composer.secret, address_key(email)

    def feedback(judgment: int) -> dict[str, str]:
        return {
            p.paper.key: tokens.feedback_url(base, secret, key, p.paper.key, judgment, now=now)
            for p in picks
        }

    return IssueLinks(
        unsubscribe=composer.unsubscribe_url(email, now=now),
        preferences=tokens.preferences_url(base, secret, key, now=now),
        more_like=feedback(1),
        less_like=feedback(-1),
    )


History = tuple[dict[str, set[str]], dict[str, dict[str, int]], dict[str, Paper] | None]


def _history(conn: Connection, subs: Sequence[Subscriber]) -> History:
    """What the matcher needs besides the papers: sent keys, feedback, reference papers."""
    emails = [s.email for s in subs]
    sent, judged = sent_keys_many(conn, emails), feedback_many(conn, emails)
    refs: dict[str, Paper] = {}
    for s in subs:
        if s.papers or judged[s.email]:
            refs |= reference_papers(conn, s, judged[s.email])
    return sent, judged, refs or None


def picks_for(
    engine: Engine, matcher: Matcher, subs: Sequence[Subscriber], papers: Sequence[Paper]
) -> dict[str, list[Pick]]:
    """Each subscriber's picks, with their sent history and feedback taken into account."""
    with engine.connect() as conn:
        history = _history(conn, subs)
    return matcher.match_many(subs, papers, *history)


def compose(
    parts: Parts, sub: Subscriber, issue_date: date, picks: Sequence[Pick], now: datetime
) -> tuple[Issue, RenderedIssue | None, OutgoingEmail | None]:
    """Render one subscriber's issue and wrap it into a message (None on a skipped quiet day)."""
    issue = Issue(sub, issue_date, tuple(picks))
    links = issue_links(parts.composer, sub.email, picks, now)
    rendered = parts.renderer.render(issue, links)
    if rendered is None:
        return issue, None, None
    to = formataddr((sub.name, sub.email)) if sub.name else sub.email
    message = parts.composer.compose(
        to=to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        now=now,
        unsubscribe_url=links.unsubscribe,
    )
    return issue, rendered, message


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
        pool = list(papers) if papers is not None else candidates(conn, now, 7)
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
        history = _history(conn, [s for s, _ in fresh])
    chosen = parts.matcher.match_many([s for s, _ in fresh], pool, *history)
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
            if (address_key(message.to), day.isoformat()) in added
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
        (address_key(email), day)
        for day, emails in by_day.items()
        for email in rows_for(conn, emails, day)
    }
    fresh = [(s, d) for s, d in batch if (address_key(s.email), d.isoformat()) not in queued]
    report.already += len(batch) - len(fresh)
    for sub, day in batch:
        if (address_key(sub.email), day.isoformat()) in queued:
            report.skipped[sub.email] = "already queued"
    return fresh


def load_subscribers(config: Config, engine: Engine, now: datetime) -> list[Subscriber]:
    """Sync the subscribers folder (when there is one) into the store; return the active ones."""
    folder = config.path(config.newsletter.subscribers_dir)
    with engine.begin() as conn:
        if folder.is_dir():
            sync_dir(conn, folder, now)
        return active_subscribers(conn)


def sync_subscribers(config: Config, engine: Engine, now: datetime) -> None:
    """Sync the subscribers folder (when there is one) into the store."""
    folder = config.path(config.newsletter.subscribers_dir)
    if folder.is_dir():
        with engine.begin() as conn:
            sync_dir(conn, folder, now)


def find_subscriber(config: Config, engine: Engine, ref: str) -> Subscriber:
    """A subscriber from a file path, the database, or the subscribers folder, in that order."""
    path = Path(ref)
    if path.suffix == ".toml" or path.is_file():
        return load_file(path)
    with engine.connect() as conn:
        stored = get_subscriber(conn, ref)
    if stored is not None:
        return stored.subscriber
    folder = config.path(config.newsletter.subscribers_dir)
    if folder.is_dir():
        for sub in load_dir(folder):
            if sub.email.lower() == ref.strip().lower():
                return sub
    raise SubscriberError(
        f"{ref}: no such subscriber file, and no subscriber with that email "
        f"in the database or in {folder}"
    )


_matchers: dict[tuple[int, MatchSettings], Matcher] = {}


def shared_matcher(config: Config, engine: Engine) -> Matcher:
    """One matcher per engine and settings, so a preview server loads the model once."""
    key = (id(engine), config.match)
    if key not in _matchers:
        _matchers[key] = Matcher.from_settings(config.match, StoreCache(engine))
    return _matchers[key]


def compose_issue(
    config: Config, engine: Engine, ref: str, issue_date: date, sources: Sequence[str] = ()
) -> tuple[Issue, IssueLinks]:
    """Read-only: the issue ``ref`` would get on ``issue_date`` and its signed links.

    Papers come from ``sources`` when given, else from the store; nothing is recorded.
    """
    sub = find_subscriber(config, engine, ref)
    now = datetime.now(UTC)
    if sources:
        papers = load_papers(list(sources), config, issue_date)
    else:
        end = datetime.combine(issue_date, time.max, UTC)
        with engine.connect() as conn:
            papers = candidates(conn, end, 7)
    picks = picks_for(engine, shared_matcher(config, engine), [sub], papers)[sub.email]
    links = issue_links(composer_from_config(config), sub.email, picks, now)
    return Issue(sub, issue_date, tuple(picks)), links
