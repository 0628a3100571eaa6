"""A request's CPU work (decoding a form, reading a pasted library, checking a profile) in a
worker thread with a deadline, so the event loop keeps answering every other reader and
``/healthz`` while one form is read.

The thread is abandoned at the deadline (Python cannot stop it); the parsers it runs are linear
and bounded, so it ends soon after, and the reader gets a clear page instead of a wait.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread

from newsletter.errors import NewsletterError

WORK_SECONDS = 10.0  # CPU time one form may take in its worker thread
P = ParamSpec("P")
T = TypeVar("T")


class TooSlow(NewsletterError):
    """A form whose reading did not end within the deadline."""


async def in_worker(
    fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``fn(*args, **kwargs)`` in a worker thread; ``TooSlow`` after ``WORK_SECONDS``."""
    seconds = WORK_SECONDS
    try:
        with anyio.fail_after(seconds):
            return await anyio.to_thread.run_sync(
                partial(fn, *args, **kwargs), abandon_on_cancel=True
            )
    except TimeoutError:
        raise TooSlow(
            f"reading the form took longer than {seconds:g} seconds; if you pasted a library, "
            "paste a shorter one"
        ) from None
