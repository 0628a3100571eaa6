"""Postmark: ``POST /email/batch`` with up to 500 messages; one result per message, in order.

Postmark answers 200 even when single messages fail; each item's ``ErrorCode`` says why.
Code 406 means the recipient is inactive (it bounced or complained): a hard bounce.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from newsletter.delivery.api.http import HttpMailer, extra_headers, formatted, reply_to
from newsletter.delivery.base import MailerOptions, OnResult, permanent, report, sent, transient
from newsletter.models import OutgoingEmail, SendResult
from newsletter.settings_schema import bounded

MAX_BATCH = 500
INACTIVE_RECIPIENT = 406


@dataclass(frozen=True)
class PostmarkOptions(MailerOptions):
    """Key: NEWSLETTER_MAILER_<NAME>_API_KEY (a server token)."""

    base_url: str = "https://api.postmarkapp.com"
    message_stream: str = "broadcast"
    timeout: float = bounded(30.0, 0.1, 3600)
    batch_size: int = bounded(MAX_BATCH, 1, MAX_BATCH)


class PostmarkMailer(HttpMailer):
    options_type = PostmarkOptions
    provider = "Postmark"

    def auth(self, key: str) -> dict[str, Any]:
        return {"headers": {"X-Postmark-Server-Token": key, "Accept": "application/json"}}

    @property
    def request_size(self) -> int:
        return int(self.options.batch_size)

    def send_api(self, emails: Sequence[OutgoingEmail], on_result: OnResult) -> None:
        response = self.post("/email/batch", json=[self._payload(e) for e in emails])
        if isinstance(response, str) or response.status_code != 200:
            self.fail_all(emails, response, on_result)
            return
        items = _items(response)
        if len(items) != len(emails):
            self.fail_all(emails, "Postmark answered with the wrong number of results", on_result)
            return
        for email, item in zip(emails, items, strict=True):
            report(_result(email, item), on_result)

    def _payload(self, email: OutgoingEmail) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "From": formatted(email.sender), "To": formatted(email.to), "Subject": email.subject,
            "TextBody": email.text, "HtmlBody": email.html,
            "MessageStream": self.options.message_stream,
            "Headers": [{"Name": k, "Value": v} for k, v in extra_headers(email).items()],
        }
        if reply_to(email):
            payload["ReplyTo"] = reply_to(email)
        return payload


def _items(response: httpx.Response) -> list[Any]:
    try:
        body = response.json()
    except ValueError:
        return []
    return body if isinstance(body, list) else []


def _result(email: OutgoingEmail, item: Any) -> SendResult:
    if not isinstance(item, dict):
        return transient(email, "Postmark answered with an unreadable result")
    code = item.get("ErrorCode")
    if code == 0:
        return sent(email, provider_id=str(item.get("MessageID") or "") or None)
    detail = f"Postmark error {code}: {item.get('Message', '')}"
    return permanent(email, detail, bounce=code == INACTIVE_RECIPIENT)
