"""How a batch goes out: requests handed out in order, each once its messages have had their
turns of the pace, to one or several sending threads; none after ``stop()``.

``Mailer.send_messages`` runs every backend through here, so ``max_rate`` holds for all alike.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from newsletter.models import OutgoingEmail
from newsletter.store.limits import Pace

Request = Sequence[OutgoingEmail]


class Turns:
    """The requests of one batch (``size`` messages each), paced by ``pace``."""

    def __init__(self, batch: Sequence[OutgoingEmail], size: int, pace: Pace) -> None:
        self._requests = deque(batch[i : i + size] for i in range(0, len(batch), size))
        self._pace = pace
        self._lock = threading.Lock()
        self.stopped: str | None = None  # why the requests not yet handed out are not tried

    def stop(self, reason: str) -> None:
        """Hand out no more requests (a request already handed out still goes)."""
        with self._lock:
            if self.stopped is None:
                self.stopped = reason

    def next(self) -> Request | None:
        """The next request, at the turn of its last message; None when none is left."""
        with self._lock:
            if self.stopped is not None or not self._requests:
                return None
            request = self._requests.popleft()
        for _ in request:  # the threads wait in parallel: the pace orders their turns
            self._pace.wait()
        return None if self.stopped is not None else request

    def run(self, send: Callable[[Request], None], parallel: int, name: str) -> None:
        """Call ``send`` with each request, ``parallel`` at once (threads called ``name``).

        When one call raises, the others finish the request in hand and the error is raised.
        """
        threads = min(parallel, len(self._requests))
        if threads <= 1:
            self._drain(send)
            return
        with ThreadPoolExecutor(threads, thread_name_prefix=name) as pool:
            futures = [pool.submit(self._drain, send) for _ in range(threads)]
        for future in futures:
            future.result()

    def _drain(self, send: Callable[[Request], None]) -> None:
        try:
            while (request := self.next()) is not None:
                send(request)
        except BaseException:
            self.stop("a sending thread failed")
            raise
