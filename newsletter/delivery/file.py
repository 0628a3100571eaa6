"""A mailer that writes one ``.eml`` file per message into a folder, openable in any mail client."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from newsletter.delivery.base import Mailer, MailerOptions, OnResult, report, sent, transient
from newsletter.delivery.message import raw_bytes
from newsletter.errors import ConfigError
from newsletter.models import OutgoingEmail, SendResult


@dataclass(frozen=True)
class FileOptions(MailerOptions):
    """``path``: the folder for the ``.eml`` files (relative to the config file)."""

    path: str = "outbox"


class FileMailer(Mailer):
    """Each message becomes ``<UTC time>-<message id>.eml``, written atomically."""

    options_type = FileOptions

    @property
    def folder(self) -> Path:
        path: str = self.options.path
        return (self._env.base_dir / path).resolve()

    def open(self) -> bool:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"mailers.{self.name}.path {self.folder}: {exc.strerror}") from None
        return False  # nothing stays open between calls

    def send_request(self, emails: Sequence[OutgoingEmail], on_result: OnResult) -> None:
        self.open()
        for email in emails:
            report(self._write(email), on_result)

    def _write(self, email: OutgoingEmail) -> SendResult:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        stem = re.sub(r"[^A-Za-z0-9@._-]+", "", email.message_id) or "message"
        target = self.folder / f"{stamp}-{stem}.eml"
        partial = target.with_suffix(".eml.part")
        try:
            partial.write_bytes(raw_bytes(email))
            os.replace(partial, target)
        except OSError as exc:
            return transient(email, f"cannot write {target}: {exc.strerror}")
        return sent(email, provider_id=target.name)
