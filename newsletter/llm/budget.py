"""What one run (a fetch, a tick, a command) may spend on the language model: requests, tokens
as the server counts them, and time. One ``Budget`` is shared by every request of the run,
across threads; a request it refuses is skipped, never sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from newsletter.config import LlmSettings


class Budget:
    """Counts requests and tokens against their caps and the run's deadline (which starts now).

    Tokens are known only once a reply is in, so requests already in flight when the token cap
    is reached still count: a run can pass ``max_tokens`` by at most its concurrent replies.
    """

    def __init__(
        self,
        max_requests: int,
        max_tokens: int,
        deadline_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_requests = max_requests
        self.max_tokens = max_tokens
        self.deadline_seconds = deadline_seconds
        self._clock = clock
        self._ends = clock() + deadline_seconds
        self._lock = threading.Lock()
        self.requests = 0  # requests let through so far
        self.tokens = 0  # tokens the server said its replies used

    @classmethod
    def from_settings(
        cls, settings: LlmSettings, clock: Callable[[], float] = time.monotonic
    ) -> Budget:
        """The run budget that ``[llm]`` sets: ``max_requests``, ``max_tokens``, ``deadline``."""
        return cls(settings.max_requests, settings.max_tokens, settings.deadline, clock)

    def take(self) -> str | None:
        """Count one request about to be sent; or say, in a few words, why it may not be."""
        with self._lock:
            if self.requests >= self.max_requests:
                return f"request budget spent (llm.max_requests {self.max_requests})"
            if self.tokens >= self.max_tokens:
                return f"token budget spent (llm.max_tokens {self.max_tokens})"
            if self.time_left() <= 0:
                return f"the run's time is up (llm.deadline {self.deadline_seconds:g} s)"
            self.requests += 1
            return None

    def spend(self, tokens: int) -> None:
        """Add the tokens one reply used."""
        with self._lock:
            self.tokens += tokens

    def time_left(self) -> float:
        """Seconds until the run's deadline (zero or less once it has passed)."""
        return self._ends - self._clock()
