"""The sliding-window rate limiter, on an injected clock."""

from __future__ import annotations

from datetime import timedelta

from newsletter.web.ratelimit import RateLimiter

from .conftest import NOW, Clock


def test_limit_per_key_within_a_sliding_window() -> None:
    clock = Clock(NOW)
    limiter = RateLimiter(clock)
    hour = timedelta(hours=1)
    assert [limiter.allow("a", 3, hour) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", 3, hour)  # other keys have their own count
    clock.now = NOW + timedelta(minutes=59)
    assert not limiter.allow("a", 3, hour)  # refusals are not counted, but the window holds
    clock.now = NOW + hour
    assert limiter.allow("a", 3, hour)  # the first three slid out of the window
