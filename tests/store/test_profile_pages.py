"""Active subscribers stream page by page: all of them, in order, none paused or unsubscribed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from newsletter.models import Subscriber
from newsletter.store.profiles import iter_active, upsert_subscriber

NOW = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)


def test_iter_active_pages_through_every_active_subscriber(
    open_db: Callable[..., Engine],
) -> None:
    engine = open_db()
    with engine.begin() as conn:
        for i in range(23):
            status = {5: "paused", 9: "unsubscribed"}.get(i)
            sub = Subscriber(email=f"Reader{i:02d}@Example.org", topics=("graphs",))
            upsert_subscriber(conn, sub, NOW, status)
    found = list(iter_active(engine, page=4))
    emails = [s.email for s in found]
    expected = [f"reader{i:02d}@example.org" for i in range(23) if i not in (5, 9)]
    assert emails == expected
    assert all(s.active and s.topics == ("graphs",) for s in found)
    assert list(iter_active(engine, page=21)) == found  # a last page exactly full
