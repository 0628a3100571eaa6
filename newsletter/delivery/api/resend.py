"""Resend: ``POST /emails/batch`` with up to 100 messages and an ``Idempotency-Key``.

The key is derived from the batch's Message-IDs, so a batch resent after a crash or a timeout
within Resend's 24 hours is not delivered twice. A batch is validated as a whole: when Resend
refuses it (422), each message is tried alone so that one bad address fails only itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from newsletter.delivery.api.http import HttpMailer, extra_headers, formatted, reply_to
from newsletter.delivery.base import OnResult, report, sent
from newsletter.models import OutgoingEmail, SendResult

MAX_BATCH = 100


@dataclass(frozen=True)
class ResendOptions:
    """Key: NEWSLETTER_MAILER_<NAME>_API_KEY."""

    base_url: str = "https://api.resend.com"
    timeout: float = 30.0
    batch_size: int = MAX_BATCH

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ValueError(f"key 'batch_size' must be between 1 and {MAX_BATCH}")


class ResendMailer(HttpMailer):
    options_type = ResendOptions
    provider = "Resend"

    def send_messages(
        self, batch: Sequence[OutgoingEmail], on_result: OnResult | None = None
    ) -> list[SendResult]:
        size = self.options.batch_size
        results: list[SendResult] = []
        for start in range(0, len(batch), size):
            results += self._send_chunk(batch[start : start + size], on_result)
        return results

    def _send_chunk(
        self, chunk: Sequence[OutgoingEmail], on_result: OnResult | None
    ) -> list[SendResult]:
        response = self.post("/emails/batch", json=[payload(e) for e in chunk],
                             headers={"Idempotency-Key": idempotency_key(chunk)})
        if not isinstance(response, str) and response.status_code == 422 and len(chunk) > 1:
            return [r for e in chunk for r in self._send_chunk([e], on_result)]
        if isinstance(response, str) or response.status_code != 200:
            return self.fail_all(chunk, response, on_result)
        ids = _ids(response)
        if len(ids) != len(chunk):
            return self.fail_all(chunk, "Resend answered with the wrong number of ids", on_result)
        return [report(sent(e, provider_id=i), on_result) for e, i in zip(chunk, ids, strict=True)]


def idempotency_key(chunk: Sequence[OutgoingEmail]) -> str:
    digest = hashlib.sha256("\n".join(e.message_id for e in chunk).encode()).hexdigest()
    return f"newsletter-batch/{digest}"


def payload(email: OutgoingEmail) -> dict[str, Any]:
    body: dict[str, Any] = {"from": formatted(email.sender), "to": [formatted(email.to)],
                            "subject": email.subject, "text": email.text, "html": email.html,
                            "headers": extra_headers(email)}
    if reply_to(email):
        body["reply_to"] = reply_to(email)
    return body


def _ids(response: httpx.Response) -> list[str]:
    try:
        data = response.json().get("data")
    except (ValueError, AttributeError):
        return []
    if not isinstance(data, list):
        return []
    return [str(item.get("id", "")) if isinstance(item, dict) else "" for item in data]
