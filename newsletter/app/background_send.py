"""Send the outbox soon, off the caller's thread: a web page enqueues a confirmation and
answers at once; a slow or stalled relay holds up this sender, never the page, and a refusal
is retried by the outbox like any other message."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine

from newsletter.config import DeliverySettings
from newsletter.delivery.base import Mailer
from newsletter.delivery.outbox import send_due
from newsletter.errors import NewsletterError

log = logging.getLogger("newsletter.send")


class SendSoon:
    """A daemon thread that sends what is due each time it is poked (pokes coalesce)."""

    def __init__(
        self, engine: Engine, mailer: Callable[[], Mailer], settings: DeliverySettings
    ) -> None:
        self.engine, self.mailer, self.settings = engine, mailer, settings
        self._poked = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def poke(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="send-soon", daemon=True)
                self._thread.start()
        self._poked.set()

    def _run(self) -> None:
        while True:
            self._poked.wait()
            self._poked.clear()
            self.send()

    def send(self) -> None:
        """One pass over the due rows; failures are the outbox's to retry, and logged."""
        try:
            report = send_due(self.engine, self.mailer(), self.settings)
        except (NewsletterError, OSError) as exc:
            log.error("send soon: %s", exc)
            return
        if report.handled:
            log.info("send soon: %s", report.describe())


class SendNow(SendSoon):
    """The same, in the caller's thread (tests, and tools that want the result at once)."""

    def poke(self) -> None:
        self.send()
