"""Who is due for an issue at a given moment: pure functions of the subscriber and a clock.

A subscriber is due for the local date on which their ``send_at`` has passed (on their
weekday for weekly ones). Whether that issue already went out is the outbox's business: its
rows are unique per (subscriber, issue date), so asking twice never sends twice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from newsletter.models import Subscriber


def local_now(subscriber: Subscriber, now: datetime) -> datetime:
    """``now`` (timezone-aware) on the subscriber's wall clock."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(subscriber.timezone))


def due_date(subscriber: Subscriber, now: datetime) -> date | None:
    """The issue date the subscriber is due for at ``now``, or None if not due yet today.

    Comparing wall-clock times keeps DST honest: on a spring-forward day a ``send_at`` that
    falls in the skipped hour is due as soon as the clock jumps past it; on a fall-back day
    the repeated hour maps to the same date, so the day is still sent once.
    """
    if not subscriber.active:
        return None
    local = local_now(subscriber, now)
    if subscriber.frequency == "weekly" and local.weekday() != subscriber.weekday:
        return None
    if local.time().replace(tzinfo=None) < subscriber.send_at:
        return None
    return local.date()


def why_not_due(subscriber: Subscriber, now: datetime) -> str:
    """A short reason for ``status`` when ``due_date`` is None."""
    if not subscriber.active:
        return "paused"
    local = local_now(subscriber, now)
    if subscriber.frequency == "weekly" and local.weekday() != subscriber.weekday:
        return "weekly, not today"
    return f"not due until {subscriber.send_at.strftime('%H:%M')} {subscriber.timezone}"


def next_due(subscriber: Subscriber, now: datetime) -> datetime:
    """The moment (on the subscriber's wall clock) from which their next issue is due: ``now``
    when it is due already, else their ``send_at`` on the next day (or weekday) it falls on."""
    local = local_now(subscriber, now)
    if due_date(subscriber, now) is not None or not subscriber.active:
        return local
    day = local.date()
    while True:
        weekly = subscriber.frequency == "weekly"
        if not weekly or day.weekday() == subscriber.weekday:
            moment = datetime.combine(day, subscriber.send_at, local.tzinfo)
            if moment > local:
                return moment
        day += timedelta(days=1)

