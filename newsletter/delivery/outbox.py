"""The send loop: claim due outbox rows with a lease, send, and record each result at once.

Issue rows are rendered here, just before they are sent, by the ``build`` function the
application gives (rows it cannot build fail with its one-line reason); without one, only
rows that hold their whole message (confirmations) are claimed.

Each result is written in its own small transaction the moment the mailer reports it (before
the same connection starts its next message), so a killed sender leaves at most the message
whose SMTP transaction was under way on each connection unrecorded; see docs/delivery.md.
A paper counts as sent to a reader once its issue row is marked sent (store/history.py reads
the picks of sent rows).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Connection, Engine

from newsletter.channel_names import channel_of
from newsletter.config import DeliverySettings
from newsletter.delivery.base import Mailer, share_pace
from newsletter.models import OutgoingEmail, SendResult
from newsletter.store import outbox as store
from newsletter.store.outbox import CONFIRMATIONS, OutboxRow, enqueue

__all__ = ["Build", "SendReport", "backoff", "default_owner", "enqueue", "seconds_until_due",
           "send_due"]

log = logging.getLogger(__name__)

# Renders claimed issue rows: row id -> the message, or one line saying why it cannot be built.
Build = Callable[[Sequence[OutboxRow]], Mapping[int, OutgoingEmail | str]]


@dataclass
class SendReport:
    """What one ``send_due`` call did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    suppressed: int = 0
    bounced: int = 0
    errors: list[str] = field(default_factory=list)
    deferred: int = 0  # the relay failed: queued again without using an attempt
    relay_fault: str = ""  # what the relay did, when it failed

    def __add__(self, other: SendReport) -> SendReport:
        return SendReport(
            self.sent + other.sent,
            self.retrying + other.retrying,
            self.failed + other.failed,
            self.suppressed + other.suppressed,
            self.bounced + other.bounced,
            self.errors + other.errors,
            self.deferred + other.deferred,
            self.relay_fault or other.relay_fault,
        )

    def describe(self) -> str:
        """One plain line of counts."""
        return (
            f"sent {self.sent}, retrying {self.retrying}, failed {self.failed} "
            f"({self.bounced} bounced), suppressed {self.suppressed}"
            + (f", deferred {self.deferred} (relay fault: {self.relay_fault})"
               if self.deferred else "")
        )

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.suppressed + self.deferred


def default_owner() -> str:
    """A lease owner name unique to this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff(attempts: int, settings: DeliverySettings, rng: random.Random) -> timedelta:
    """Exponential backoff with "equal jitter": half the step fixed, half random."""
    step = min(settings.retry_max, settings.retry_base * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=step / 2 + rng.uniform(0, step / 2))


def send_due(
    engine: Engine,
    mailer: Mailer,
    settings: DeliverySettings,
    *,
    now: datetime | None = None,
    owner: str | None = None,
    limit: int | None = None,
    rng: random.Random | None = None,
    on_batch: Callable[[SendReport], None] | None = None,
    build: Build | None = None,
    channels: Mailer | None = None,
) -> SendReport:
    """Send every due row (up to ``limit``); ``now`` sets the clock's start (tests, replays).

    ``build`` renders issue rows; without it only whole stored messages are sent.
    ``channels`` posts the rows of team channels (``channel_names``); without it they fail.
    ``on_batch`` sees the running totals after each batch (for progress displays).
    """
    run = _Run(engine, mailer, settings, now, owner or default_owner(), rng or random.Random(),
               build, channels)
    share_pace(mailer, engine)  # max_rate for the deployment (PostgreSQL) or this process
    opened = mailer.open()  # close only what this call opened: a worker keeps its connection
    opened_channels = channels is not None and channels.open()
    try:
        while limit is None or run.report.handled < limit:
            want = settings.batch_size if limit is None else limit - run.report.handled
            if not run.batch(min(settings.batch_size, want)) or run.report.deferred:
                break  # nothing due, or the relay failed: the rest waits for the next round
            if on_batch is not None:
                on_batch(run.report)
    finally:
        if opened:
            mailer.close()
        if opened_channels and channels is not None:
            channels.close()
    r = run.report
    log.info("send: %d sent, %d retrying, %d failed, %d suppressed",
             r.sent, r.retrying, r.failed, r.suppressed)
    return r


def seconds_until_due(engine: Engine, *, issues: bool, now: datetime | None = None) -> float | None:
    """Seconds until the soonest row falls due (0 when one is due now; None when none waits),
    so a sender can sleep until then instead of until a fixed tick."""
    with engine.connect() as conn:
        soonest = store.next_due(conn, issues=issues)
    if soonest is None:
        return None
    return max(0.0, (soonest - (now or datetime.now(UTC))).total_seconds())


class _Run:
    """The state of one ``send_due`` call; results may arrive from several mailer threads."""

    def __init__(self, engine: Engine, mailer: Mailer, settings: DeliverySettings,
                 now: datetime | None, owner: str, rng: random.Random,
                 build: Build | None, channels: Mailer | None = None) -> None:
        self.engine, self.mailer, self.settings, self.build = engine, mailer, settings, build
        self.channels = channels
        self.fixed_now, self.owner, self.rng = now, owner, rng
        self.report = SendReport()
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.pending: dict[str, OutboxRow] = {}
        self.lease_until = self.now()
        self.conn: Connection | None = None  # the batch's connection while it is sent

    def now(self) -> datetime:
        """Real time; a given ``now`` sets where the clock starts (it still runs, for leases)."""
        if self.fixed_now is None:
            return datetime.now(UTC)
        return self.fixed_now + timedelta(seconds=time.monotonic() - self.started)

    def batch(self, size: int) -> bool:
        """Claim and send one batch; False when nothing was due."""
        lease = timedelta(seconds=self.settings.lease_seconds)
        with self.engine.begin() as conn:
            rows = store.claim_due(conn, owner=self.owner, now=self.now(), lease=lease,
                                   limit=size, issues=self.build is not None)
            found = store.suppressed(conn, [r.recipient for r in rows]) if rows else {}
        if not rows:
            return False
        self.lease_until = self.now() + lease
        blocked = [r for r in rows if _blocks(r, found.get(r.recipient))]
        self._suppress(blocked, found)
        todo = self._built([r for r in rows if r not in blocked])
        self.pending = {r.email.message_id: r for r in todo}
        self._send(todo)
        return True

    def _built(self, rows: list[OutboxRow]) -> list[OutboxRow]:
        """Issue rows rendered (those that cannot be fail at once), other rows as they are."""
        issues = [r for r in rows if r.template_version is not None]
        if not issues or self.build is None:
            return rows
        try:
            made = self.build(issues)
        except BaseException:
            with self.engine.begin() as conn:
                store.release(conn, [r.id for r in rows], self.owner, now=self.now())
            raise
        ready: list[OutboxRow] = []
        for row in rows:
            email = row.email if row.template_version is None else made.get(row.id, "not rendered")
            if isinstance(email, str):
                self._fail(row, f"cannot render the issue: {email}")
            else:
                ready.append(replace(row, email=email))
        return ready

    def _fail(self, row: OutboxRow, error: str) -> None:
        with self.engine.begin() as conn:
            store.mark_failed(conn, row.id, self.owner, error=error, now=self.now())
        self.report.failed += 1
        self.report.errors.append(f"{row.recipient}: {error}")
        log.warning("failed %s %s: %s", row.recipient, row.email.message_id, error)

    def _suppress(self, rows: Sequence[OutboxRow], reasons: dict[str, str]) -> None:
        for row in rows:
            with self.engine.begin() as conn:
                store.mark_suppressed(conn, row.id, self.owner, reason=reasons[row.recipient],
                                      now=self.now())
            self.report.suppressed += 1

    def _send(self, rows: Sequence[OutboxRow]) -> None:
        posts = [r for r in rows if channel_of(r.recipient)]
        if posts and self.channels is None:
            for row in posts:
                self.pending.pop(row.email.message_id, None)
                self._fail(row, "this sender posts to no team channel")
            posts = []
        emails: list[OutgoingEmail] = [r.email for r in rows if not channel_of(r.recipient)]
        try:
            # One connection records the whole batch's results (each in its own transaction):
            # a pool checkout per message would add a liveness ping per message.
            with self.engine.connect() as conn:
                self.conn = conn
                if posts and self.channels is not None:
                    self.channels.send_messages([r.email for r in posts], self.record)
                if emails:
                    self.mailer.send_messages(emails, self.record)
        finally:
            self.conn = None
            left = [r.id for r in self.pending.values()]
            if left:  # the mailer gave up before reaching these: hand them back untried
                with self.engine.begin() as conn:
                    store.release(conn, left, self.owner, now=self.now())

    def record(self, result: SendResult) -> None:
        """Write one result in its own transaction, right after the mailer learned it."""
        with self.lock:
            row = self.pending.pop(result.message_id, None)
            if row is None:
                return
            if self.conn is None:  # a mailer reporting after the batch: should not happen
                with self.engine.begin() as conn:
                    self._apply(conn, row, result)
                return
            with self.conn.begin():
                self._apply(self.conn, row, result)
                self._keep_lease(self.conn)

    def _apply(self, conn: Connection, row: OutboxRow, result: SendResult) -> None:
        now = self.now()
        if result.status == "sent":
            keep = row.email if self.settings.keep_sent_messages_days else None
            store.mark_sent(conn, row.id, self.owner, provider_id=result.provider_id, now=now,
                            subject=row.email.subject, keep=keep)
            self.report.sent += 1
        elif result.status == "deferred":
            at = now + timedelta(seconds=self.settings.retry_base)
            store.mark_deferred(conn, row.id, self.owner, at=at, now=now,
                                error=f"mailer {self.mailer.name}: {result.detail}")
            self.report.deferred += 1
            self.report.relay_fault = result.detail.removeprefix("not tried: ")
            log.info("relay fault, %s again at %s: %s", row.recipient, f"{at:%H:%M:%S}",
                     result.detail)
        elif result.status == "transient" and row.attempts < self.settings.max_attempts:
            at = now + backoff(row.attempts, self.settings, self.rng)
            if result.at is not None:  # the server's Retry-After (real time), if longer
                at = max(at, now + (result.at - datetime.now(UTC)))
            store.mark_retry(conn, row.id, self.owner, error=result.detail, at=at, now=now,
                             provider_id=result.provider_id)
            self.report.retrying += 1
            log.info("retry %s at %s: %s", row.recipient, f"{at:%H:%M:%S}", result.detail)
        else:
            error = result.detail
            if result.status == "transient":
                error = f"gave up after {row.attempts} attempts: {error}"
            store.mark_failed(conn, row.id, self.owner, error=error, now=now)
            self.report.failed += 1
            self.report.errors.append(f"{row.recipient}: {error}")
            log.warning("failed %s %s: %s", row.recipient, row.email.message_id, error)
            if result.bounce:
                store.suppress(conn, row.recipient, "bounced", now=now, detail=result.detail)
                self.report.bounced += 1

    def _keep_lease(self, conn: Connection) -> None:
        lease = timedelta(seconds=self.settings.lease_seconds)
        if self.pending and self.now() > self.lease_until - lease / 2:
            self.lease_until = self.now() + lease
            ids = [r.id for r in self.pending.values()]
            store.extend_lease(conn, ids, self.owner, self.lease_until)


def _blocks(row: OutboxRow, reason: str | None) -> bool:
    """Whether a suppression stops this row: any stops an issue; a confirmation the reader
    just asked for is stopped by a bounce or a complaint, not by an earlier unsubscribe."""
    if reason is None:
        return False
    return reason in ("bounced", "complained") or not row.issue_id.startswith(CONFIRMATIONS)
