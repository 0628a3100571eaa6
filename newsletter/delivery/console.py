"""A mailer that prints each full message to standard output (or a given text stream)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from newsletter.delivery.base import Mailer, OnResult, report, sent
from newsletter.delivery.message import raw_bytes
from newsletter.models import OutgoingEmail

SEPARATOR = "-" * 79


class ConsoleMailer(Mailer):
    """Writes the MIME text of every message followed by a separator line."""

    stream: TextIO | None = None  # None: sys.stdout at the time of sending

    def send_request(self, emails: Sequence[OutgoingEmail], on_result: OnResult) -> None:
        out = self.stream or sys.stdout
        for email in emails:
            out.write(raw_bytes(email).decode("utf-8", "replace").replace("\r\n", "\n"))
            out.write(f"\n{SEPARATOR}\n")
            out.flush()
            report(sent(email), on_result)
