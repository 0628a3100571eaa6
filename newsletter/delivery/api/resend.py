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
from newsletter.delivery.base import MailerOptions, OnResult, report, sent
from newsletter.models import OutgoingEmail
from newsletter.settings_schema import bounded

MAX_BATCH = 100


@dataclass(frozen=True)
class ResendOptions(MailerOptions):
    """Key: NEWSLETTER_MAILER_<NAME>_API_KEY."""

    base_url: str = "https://api.resend.com"
    timeout: float = bounded(30.0, 0.1, 3600)
    batch_size: int = bounded(MAX_BATCH, 1, MAX_BATCH)


class ResendMailer(HttpMailer):
    options_type = ResendOptions
    provider = "Resend"

    @property
    def request_size(self) -> int:
        return int(self.options.batch_size)

    def send_api(self, emails: Sequence[OutgoingEmail], on_result: OnResult) -> None:
        response = self.post("/emails/batch", json=[payload(e) for e in emails],
                             headers={"Idempotency-Key": idempotency_key(emails)})
        if not isinstance(response, str) and response.status_code == 422 and len(emails) > 1:
            for email in emails:  # one bad address fails only itself
                self.send_api([email], on_result)
            return
        if isinstance(response, str) or response.status_code != 200:
            self.fail_all(emails, response, on_result)
            return
        ids = _ids(response)
        if len(ids) != len(emails):
            self.fail_all(emails, "Resend answered with the wrong number of ids", on_result)
            return
        for email, ident in zip(emails, ids, strict=True):
            report(sent(email, provider_id=ident), on_result)


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
