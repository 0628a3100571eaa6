"""Send the outbox soon, off the caller's thread: a web page enqueues a confirmation and
answers at once; a slow or stalled relay holds up this sender, never the page, and a refusal
is retried by the outbox like any other message, when it falls due: between pokes the sender
sleeps until the soonest waiting row's next attempt, not until the scheduler's next tick."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from newsletter.config import DeliverySettings
from newsletter.delivery.base import Mailer
from newsletter.delivery.outbox import seconds_until_due, send_due
from newsletter.errors import NewsletterError

log = logging.getLogger("newsletter.send")
SOONEST = 0.05  # seconds between passes while rows are due (a row due now was just tried)
AFTER_ERROR = 5.0  # seconds before the next pass after one failed (database or mailer trouble)


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
        wait: float | None = None  # the first pass waits for a poke
        while True:
            self._poked.wait(wait)
            self._poked.clear()
            try:
                wait = self._next_wait(self.send())
            except Exception:  # an unforeseen fault: logged, and this thread keeps sending
                log.exception("send soon: unexpected error")
                wait = AFTER_ERROR

    def _next_wait(self, ok: bool) -> float | None:
        """Seconds until the soonest waiting row falls due (None: none waits, sleep until
        poked); at least ``AFTER_ERROR`` after a failed pass."""
        try:
            due = seconds_until_due(self.engine, issues=False)
        except (NewsletterError, OSError, SQLAlchemyError) as exc:
            log.error("send soon: %s", exc)
            return AFTER_ERROR
        if due is None:
            return None
        return max(due, SOONEST if ok else AFTER_ERROR)

    def send(self) -> bool:
        """One pass over the due rows; failures are the outbox's to retry, and logged.
        False when the pass itself failed."""
        try:
            report = send_due(self.engine, self.mailer(), self.settings)
        except (NewsletterError, OSError, SQLAlchemyError) as exc:
            log.error("send soon: %s", exc)
            return False
        if report.handled:
            log.info("send soon: %s", report.describe())
        return True


class SendNow(SendSoon):
    """The same, in the caller's thread (tests, and tools that want the result at once)."""

    def poke(self) -> None:
        self.send()
