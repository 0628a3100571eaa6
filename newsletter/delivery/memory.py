"""A mailer that keeps messages in a list: for tests and dry runs, on the production code path.

``plan`` scripts outcomes per recipient (a list of "sent"/"transient"/"permanent"/"bounce"
consumed in order), so the outbox's retry and failure handling runs without a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from newsletter import addresses
from newsletter.delivery.base import (
    Mailer,
    MailerEnv,
    OnResult,
    permanent,
    report,
    sent,
    transient,
)
from newsletter.models import OutgoingEmail, SendResult


class MemoryMailer(Mailer):
    """Accepts every message into ``outbox`` unless ``plan`` says otherwise."""

    def __init__(self, name: str, options: Any, env: MailerEnv) -> None:
        super().__init__(name, options, env)
        self.outbox: list[OutgoingEmail] = []
        self.plan: dict[str, list[str]] = {}
        self.opened = 0
        self.closed = 0

    def open(self) -> bool:
        self.opened += 1
        return True

    def close(self) -> None:
        self.closed += 1

    def send_request(self, emails: Sequence[OutgoingEmail], on_result: OnResult) -> None:
        for email in emails:
            report(self._one(email), on_result)

    def _one(self, email: OutgoingEmail) -> SendResult:
        steps = self.plan.get(addresses.key(email.to))
        outcome = steps.pop(0) if steps else "sent"
        if outcome == "transient":
            return transient(email, "451 4.3.0 planned temporary failure")
        if outcome in ("permanent", "bounce"):
            bounce = outcome == "bounce"
            return permanent(email, "550 5.1.1 planned rejection", bounce=bounce)
        self.outbox.append(email)
        return sent(email, provider_id=f"memory-{len(self.outbox)}")
