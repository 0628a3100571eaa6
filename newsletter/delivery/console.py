"""A mailer that prints each full message to standard output (or a given text stream)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from newsletter.delivery.base import Mailer, OnResult, report, sent
from newsletter.delivery.message import raw_bytes
from newsletter.models import OutgoingEmail, SendResult

SEPARATOR = "-" * 79


class ConsoleMailer(Mailer):
    """Writes the MIME text of every message followed by a separator line."""

    stream: TextIO | None = None  # None: sys.stdout at the time of sending

    def send_messages(
        self, batch: Sequence[OutgoingEmail], on_result: OnResult | None = None
    ) -> list[SendResult]:
        out = self.stream or sys.stdout
        results = []
        for email in batch:
            out.write(raw_bytes(email).decode("utf-8", "replace").replace("\r\n", "\n"))
            out.write(f"\n{SEPARATOR}\n")
            out.flush()
            results.append(report(sent(email), on_result))
        return results
