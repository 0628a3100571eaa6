"""Mailgun: ``POST /v3/<domain>/messages`` as a form, basic auth ``api:<key>``, one per message.

Extra headers travel as ``h:<Name>`` fields; the answer's ``id`` is Mailgun's message id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from newsletter.delivery.api.http import HttpMailer, extra_headers, formatted, reply_to
from newsletter.delivery.base import MailerOptions, OnResult, report, sent
from newsletter.models import OutgoingEmail, SendResult
from newsletter.settings_schema import bounded


@dataclass(frozen=True)
class MailgunOptions(MailerOptions):
    """Key: NEWSLETTER_MAILER_<NAME>_API_KEY; ``base_url`` https://api.eu.mailgun.net in the EU."""

    domain: str = ""
    base_url: str = "https://api.mailgun.net"
    timeout: float = bounded(30.0, 0.1, 3600)

    def __post_init__(self) -> None:
        if not self.domain:
            raise ValueError("key 'domain' is required for the mailgun backend")


class MailgunMailer(HttpMailer):
    options_type = MailgunOptions
    provider = "Mailgun"

    def auth(self, key: str) -> dict[str, Any]:
        return {"auth": ("api", key)}

    def send_api(self, emails: Sequence[OutgoingEmail], on_result: OnResult) -> None:
        for email in emails:
            report(self._send(email), on_result)

    def _send(self, email: OutgoingEmail) -> SendResult:
        # multipart/form-data, as Mailgun documents the endpoint; (None, value) = a plain field
        parts = [(k, (None, v)) for k, v in form(email).items()]
        response = self.post(f"/v3/{self.options.domain}/messages", files=parts)
        if isinstance(response, str) or response.status_code != 200:
            return self.failure(email, response)
        try:
            ident = response.json().get("id")
        except (ValueError, AttributeError):
            ident = None
        return sent(email, provider_id=str(ident) if ident else None)


def form(email: OutgoingEmail) -> dict[str, str]:
    fields = {"from": formatted(email.sender), "to": formatted(email.to),
              "subject": email.subject, "text": email.text, "html": email.html}
    headers = extra_headers(email) | ({"Reply-To": reply_to(email)} if reply_to(email) else {})
    fields |= {f"h:{k}": v for k, v in headers.items()}
    return fields
