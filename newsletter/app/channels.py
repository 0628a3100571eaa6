"""Team channels in the pipeline: their outbox rows rendered at send time into the platform's
payload, the mailer that posts them, and the preview and test message of one channel.

A channel is a reader (``channel_names``): it is matched and enqueued like any subscriber;
only its rendering (``render/channels``) and its delivery (``delivery/channels``) differ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine

from newsletter import channel_names
from newsletter.app.preview import file_stem, write_all
from newsletter.app.queued_issue import Builder, found_papers, restore
from newsletter.config import Config
from newsletter.delivery.base import MailerEnv
from newsletter.delivery.channels.sender import PARTS_POSTED, ChannelMailer, progress
from newsletter.delivery.message import make_message_id
from newsletter.errors import ConfigError
from newsletter.models import Issue, OutgoingEmail, Paper, Pick, Subscriber
from newsletter.render.channels import Rendered, render_channel
from newsletter.store.outbox import OutboxRow, issue_keys, unsuppress

__all__ = ["ChannelBuilder", "channel_mailer", "is_channel", "render_issue", "send_test",
           "trial_issue", "write_channel_preview"]


def channel_mailer(config: Config, transport: httpx.BaseTransport | None = None) -> ChannelMailer:
    """What posts the channel rows of the outbox (every ``[channels.NAME]``)."""
    return ChannelMailer(config.channels, MailerEnv(config.secrets, config.base_dir),
                         transport=transport)


def render_issue(config: Config, issue: Issue) -> Rendered:
    """``issue`` as its channel's platform gets it; ConfigError when the channel is unknown."""
    name = channel_names.channel_of(issue.subscriber.email)
    settings = config.channels.get(name)
    if settings is None:
        known = ", ".join(sorted(config.channels)) or "none"
        raise ConfigError(f"{config.origin}: channel {name!r} is not configured (add a "
                          f"[channels.{name}] table; configured: {known})")
    return render_channel(settings.kind, issue, config.email.abstract_chars, settings.chat_id)


def as_message(row: OutboxRow, rendered: Rendered) -> OutgoingEmail:
    """The outbox's message of a channel row: the parts to post, and how they read."""
    done = progress(row.provider_id)  # parts an earlier attempt posted, if rendered the same
    return OutgoingEmail(message_id=row.email.message_id, sender=row.email.sender,
                         to=row.email.to, subject=_title(rendered),
                         text=rendered.text, html="", parts=rendered.encoded(),
                         headers=((PARTS_POSTED, done),) if done else ())


def _title(rendered: Rendered) -> str:
    return rendered.text.splitlines()[0].strip("= ")


class ChannelBuilder:
    """Renders claimed rows at send time: email rows by ``emails``, channel rows here."""

    def __init__(self, emails: Builder, config: Config, engine: Engine) -> None:
        self.emails, self.config, self.engine = emails, config, engine

    def __call__(self, rows: Sequence[OutboxRow],
                 now: datetime | None = None) -> dict[int, OutgoingEmail | str]:
        posts = [r for r in rows if channel_names.channel_of(r.recipient)]
        others = [r for r in rows if not channel_names.channel_of(r.recipient)]
        made: dict[int, OutgoingEmail | str] = dict(self.emails(others, now)) if others else {}
        if posts:
            keys = sorted({k for r in posts if r.issue for k in issue_keys(r.issue)})
            with self.engine.connect() as conn:
                papers = found_papers(conn, keys, self.config)
            made.update((row.id, self.message(row, papers)) for row in posts)
        return made

    def message(self, row: OutboxRow, papers: Mapping[str, Paper]) -> OutgoingEmail | str:
        if not row.issue:
            return "its snapshot of what to send is missing"
        issue = restore(row.issue, papers)
        if isinstance(issue, str):
            return issue
        try:
            return as_message(row, render_issue(self.config, issue))
        except ConfigError as exc:
            return str(exc)


@dataclass(frozen=True)
class TrialResult:
    """What ``send --test CHANNEL`` did: whether it arrived, and one line saying so."""

    ok: bool
    line: str


def trial_issue(config: Config, name: str, today: date) -> Issue:
    """A one-paper issue for channel ``name`` that says it is a test."""
    sub = Subscriber(email=channel_names.address(name), topics=("a test message",), name=name)
    paper = Paper(title="Test message from newsletter", abstract=(
        "If you can read this, the channel is set up: each issue will be posted here."),
        url=config.newsletter.base_url or "https://example.org/")
    return Issue(sub, today, (Pick(paper, 1.0, ("sent by newsletter send --test",)),))


def send_test(config: Config, name: str, engine: Engine | None = None,
              transport: httpx.BaseTransport | None = None,
              now: datetime | None = None) -> TrialResult:
    """Post a test message to channel ``name`` at once (not through the outbox); when it
    arrives, a suppression of the channel (its webhook was gone) is lifted in ``engine``."""
    now = now or datetime.now(UTC)
    issue = trial_issue(config, name, now.date())
    rendered = render_issue(config, issue)
    address, sender = channel_names.address(name), config.newsletter.sender
    envelope = OutgoingEmail(make_message_id(sender), sender, address, "", "", "")
    trial = OutboxRow(0, address, "test", 1, envelope)  # not stored: posted at once
    with channel_mailer(config, transport) as mailer:
        result = mailer.send_messages([as_message(trial, rendered)])[0]
    if result.status == "sent":
        lifted = False
        if engine is not None:
            with engine.begin() as conn:
                lifted = unsuppress(conn, channel_names.address(name))
        return TrialResult(True, f"sent a test message to {config.channels[name].kind} channel "
                                f"{name!r}" + ("; it was suppressed, and is resumed" if lifted
                                               else ""))
    return TrialResult(False, f"test message to channel {name!r} failed: {result.detail}")


def is_channel(issue: Issue) -> bool:
    """Whether ``issue`` is a team channel's."""
    return bool(channel_names.channel_of(issue.subscriber.email))


def write_channel_preview(config: Config, issue: Issue, out_dir: Path) -> list[Path]:
    """Write what channel ``issue`` would post: ``.json`` (the request bodies, in order, as
    the platform gets them) and ``.txt`` (how they read)."""
    rendered = render_issue(config, issue)
    payload = {"kind": rendered.kind, "parts": list(rendered.parts)}
    stem = file_stem(channel_names.channel_of(issue.subscriber.email), issue.issue_date)
    return write_all(out_dir, {
        f"{stem}.json": (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode(),
        f"{stem}.txt": rendered.text.encode("utf-8"),
    })
