"""The channel mailer: posts each channel issue's parts in order, one issue at a time.

Results follow the outbox's rules: 429, 5xx and network failures are transient (tried a few
times at once under ``http_policy``, then handed back to the outbox, which waits at least
what ``Retry-After`` asked); 404 and 410 (the webhook or room is gone) are permanent and
suppress the channel; other refusals are permanent. Each part has a key derived from the
outbox row and its rendering (``part_key``): Matrix uses it as the transaction id and the
webhook as its ``Idempotency-Key``, so a part posted again after a crash or a retry is
recognised there.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from newsletter.channel_names import channel_of
from newsletter.config import ChannelSettings
from newsletter.delivery.base import Mailer, MailerEnv, OnResult, permanent, report, sent
from newsletter.delivery.channels.targets import missing, target
from newsletter.http_policy import HttpFailure, Policy, PolicyClient, Reply
from newsletter.models import OutgoingEmail, SendResult

GONE = frozenset({404, 410})  # the webhook, bot or room is gone: suppress the channel
GONE_NOTE = " (gone: the channel is suppressed)"
# An issue retried after some of its parts were posted: how many, and the digest of the parts
# as they were then rendered (``progress``, ``parts:N:DIGEST``), so the next attempt goes on
# from the next part instead of posting the first ones again, if the issue still renders the
# same parts; otherwise it starts again from part 1 (a repeat rather than a loss).
PARTS_POSTED = "X-Newsletter-Parts-Posted"
PROGRESS = "parts:"


def progress(provider_id: str | None) -> str:
    """What an earlier attempt got through, as ``mark_retry`` kept it: ``N:DIGEST`` (or ``N``,
    as kept before digests were), "" when nothing was."""
    kept = provider_id or ""
    return kept.removeprefix(PROGRESS) if kept.startswith(PROGRESS) else ""


def parts_digest(parts: Sequence[str]) -> str:
    """A short digest of an issue's rendered parts: whether a retry renders the same ones."""
    hashed = hashlib.sha256()
    for part in parts:
        body = part.encode()
        hashed.update(len(body).to_bytes(8, "big") + body)
    return hashed.hexdigest()[:16]


def resume_from(posted: str, parts: Sequence[str]) -> int:
    """How many of ``parts`` an earlier attempt posted (``posted`` as ``progress`` gives it):
    0 unless it posted them as they render now (the same digest). The old ``N`` form, with no
    digest, counts as a different rendering: the issue is posted again from part 1."""
    count, _, digest = posted.partition(":")
    if not count.isdigit() or digest != parts_digest(parts):
        return 0
    return min(int(count), len(parts))


def part_key(message_id: str, part: int, rendering: str = "") -> str:
    """The lasting key of one part of one outbox row (its Message-ID is kept with the row) as
    rendered (``rendering``: its ``parts_digest``), so that a part rendered differently on a
    retry is not taken by the platform for a repeat of the old one, and dropped."""
    digest = hashlib.sha256(message_id.encode()).hexdigest()[:32]
    return f"nl{digest}.{part}" + (f".{rendering}" if rendering else "")


class ChannelMailer(Mailer):
    """Posts channel issues; ``transport`` and ``sleep`` are for tests."""

    def __init__(self, channels: Mapping[str, ChannelSettings], env: MailerEnv, *,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__("channels", Mailer.options_type(), env)
        self.channels, self.transport, self.sleep = channels, transport, sleep
        self._clients: dict[str, PolicyClient] = {}

    def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()

    def client(self, name: str, settings: ChannelSettings) -> PolicyClient:
        if name not in self._clients:
            policy = Policy(timeout=settings.timeout, retries=settings.retries, backoff=1.0,
                            max_retry_after=settings.max_retry_after, max_bytes=1_000_000)
            self._clients[name] = PolicyClient(policy, transport=self.transport,
                                               sleep=self.sleep)
        return self._clients[name]

    def send_request(self, emails: Sequence[OutgoingEmail], on_result: OnResult) -> None:
        for email in emails:
            report(self.post(email), on_result)

    def post(self, email: OutgoingEmail) -> SendResult:
        """Every part of one channel issue, in order; the result of the whole."""
        name = channel_of(email.to)
        settings = self.channels.get(name)
        if settings is None:
            return permanent(email, f"channel {name!r} is not configured "
                                    f"(add a [channels.{name}] table)")
        unset = missing(settings, self._env.secrets)
        if unset:
            return permanent(email, f"{settings.kind} channel {name!r}: environment variable "
                                    f"{unset} is not set")
        if not email.parts:
            return permanent(email, f"channel {name!r}: the issue has nothing to post")
        ids: list[str] = []
        digest = parts_digest(email.parts)
        done = resume_from(dict(email.headers).get(PARTS_POSTED, ""), email.parts)
        for number, body in enumerate(email.parts, 1):
            if number <= done:
                continue  # posted, as rendered now, by an earlier attempt
            if ids and settings.gap:
                self.sleep(settings.gap)  # the platform's pace, not a 429 halfway
            outcome = self.post_part(name, settings, email, body, number, digest)
            if isinstance(outcome, SendResult):
                if outcome.status == "transient" and number > 1:
                    return replace(outcome, provider_id=f"{PROGRESS}{number - 1}:{digest}")
                return outcome
            ids.append(outcome)
        return sent(email, provider_id=",".join(i for i in ids if i)[:200] or None)

    def post_part(self, name: str, settings: ChannelSettings, email: OutgoingEmail, body: str,
                  number: int, rendering: str) -> str | SendResult:
        """The platform's id of the posted part ("" when it gives none), or the failure."""
        where = f"{settings.kind} channel {name!r}"
        of = f"part {number} of {len(email.parts)}" if len(email.parts) > 1 else "the issue"
        request = target(settings, self._env.secrets, body,
                         part_key(email.message_id, number, rendering), int(time.time()))
        try:
            reply = self.client(name, settings).request(
                request.method, request.url, content=request.body, headers=request.headers)
        except HttpFailure as failure:
            problem = failure.problem
            if failure.status and f"HTTP {failure.status}" not in problem:
                problem = f"HTTP {failure.status}: {problem}"
            return self.failed(email, f"{where}: {of}: {problem}", failure)
        refused = _refusal(settings.kind, reply)
        if refused:
            return permanent(email, f"{where}: {of}: {refused}")
        return _posted_id(settings.kind, reply)

    def failed(self, email: OutgoingEmail, detail: str, failure: HttpFailure) -> SendResult:
        status = failure.status
        if status in GONE:
            return permanent(email, detail + GONE_NOTE, bounce=True)
        if status is not None and 400 <= status < 500 and status not in (401, 403, 408, 429):
            return permanent(email, detail)
        at = None
        if failure.wait is not None:
            at = datetime.now(UTC) + timedelta(seconds=failure.wait)
        return SendResult(email.message_id, "transient", detail, at=at)


def _json(reply: Reply) -> Any:
    try:
        return json.loads(reply.body or b"null")
    except ValueError:
        return None


def _refusal(kind: str, reply: Reply) -> str:
    """Why a 2xx answer still says the part was not posted (Telegram's ``ok: false``)."""
    if kind == "telegram":
        body = _json(reply)
        if not (isinstance(body, dict) and body.get("ok") is True):
            return "Telegram answered without ok: true"
    return ""


def _posted_id(kind: str, reply: Reply) -> str:
    body = _json(reply)
    if not isinstance(body, dict):
        return ""
    if kind == "matrix":
        return str(body.get("event_id", ""))
    if kind == "discord":
        return str(body.get("id", ""))
    if kind == "telegram" and isinstance(body.get("result"), dict):
        return str(body["result"].get("message_id", ""))
    return ""
