"""Sending what is due in the outbox, from a command (``send``, ``worker``) rather than a run:
issue rows are rendered at send time by ``queued_issue.Builder``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from newsletter.app.channels import ChannelBuilder, channel_mailer
from newsletter.app.queued_issue import Builder
from newsletter.config import Config
from newsletter.delivery.base import Mailer
from newsletter.delivery.compose import composer_from_config
from newsletter.delivery.outbox import SendReport, send_due
from newsletter.store import outbox

__all__ = ["DueRow", "SendReport", "builder", "channel_sender", "due_rows", "send_now"]


def builder(config: Config, engine: Engine) -> ChannelBuilder:
    """What renders issue rows into messages (or team channels' posts) when they are sent."""
    return ChannelBuilder(Builder(engine, composer_from_config(config), config), config, engine)


def channel_sender(config: Config) -> Mailer:
    """What posts the team channels' rows (``[channels.NAME]``)."""
    return channel_mailer(config)


def send_now(
    config: Config,
    engine: Engine,
    mailer: Mailer,
    limit: int | None = None,
    on_batch: Callable[[SendReport], None] | None = None,
) -> SendReport:
    """Send the due messages (at most ``limit``) with ``mailer``."""
    return send_due(engine, mailer, config.delivery, limit=limit, on_batch=on_batch,
                    build=builder(config, engine), channels=channel_mailer(config))


@dataclass(frozen=True)
class DueRow:
    """A message that is due, as a dry run lists it."""

    issue_id: str
    recipient: str
    attempt: int
    subject: str  # "" for an issue, rendered when sent
    suppressed: str  # why the address is suppressed, or ""


def due_rows(engine: Engine, limit: int) -> list[DueRow]:
    """What a send would try now, in order; changes nothing."""
    with engine.connect() as conn:
        rows = outbox.list_due(conn, now=datetime.now(UTC), limit=limit)
        blocked = outbox.suppressed(conn, [r["recipient"] for r in rows])
    return [
        DueRow(r["issue_id"], r["recipient"], r["attempts"] + 1, r["subject"] or "",
               blocked.get(r["recipient"], ""))
        for r in rows
    ]
