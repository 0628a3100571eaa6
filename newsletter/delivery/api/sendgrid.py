"""SendGrid: ``POST /v3/mail/send``, one request per message (each body is personal).

A 202 Accepted with an empty body means queued; the id is in the ``X-Message-Id`` header.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from newsletter import addresses
from newsletter.delivery.api.http import HttpMailer, extra_headers, reply_to
from newsletter.delivery.base import MailerOptions, OnResult, report, sent
from newsletter.models import OutgoingEmail, SendResult
from newsletter.settings_schema import bounded


@dataclass(frozen=True)
class SendGridOptions(MailerOptions):
    """Key: NEWSLETTER_MAILER_<NAME>_API_KEY."""

    base_url: str = "https://api.sendgrid.com"
    timeout: float = bounded(30.0, 0.1, 3600)


def _person(address: str) -> dict[str, str]:
    name, bare = addresses.split(address)[0], addresses.ascii_address(address)
    return {"email": bare, "name": name} if name else {"email": bare}


class SendGridMailer(HttpMailer):
    options_type = SendGridOptions
    provider = "SendGrid"

    def send_api(self, emails: Sequence[OutgoingEmail], on_result: OnResult) -> None:
        for email in emails:
            report(self._send(email), on_result)

    def _send(self, email: OutgoingEmail) -> SendResult:
        response = self.post("/v3/mail/send", json=payload(email))
        if isinstance(response, str) or response.status_code not in (200, 202):
            return self.failure(email, response)
        return sent(email, provider_id=response.headers.get("X-Message-Id"))


def payload(email: OutgoingEmail) -> dict[str, Any]:
    body: dict[str, Any] = {
        "personalizations": [{"to": [_person(email.to)]}],
        "from": _person(email.sender),
        "subject": email.subject,
        "content": [{"type": "text/plain", "value": email.text},
                    {"type": "text/html", "value": email.html}],
        "headers": extra_headers(email),
    }
    if reply_to(email):
        body["reply_to"] = _person(reply_to(email))
    return body
