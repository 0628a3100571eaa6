"""What the subscriber pages and the CLI tell a reader or an operator, worked out from what
will happen: when the first issue goes out (the scheduler's tick), how often, what about
(topics, liked papers, or both)."""

from __future__ import annotations

from datetime import datetime, timedelta

from newsletter.models import Subscriber
from newsletter.profile import WEEKDAYS
from newsletter.schedule import local_now, next_due
from newsletter.wording import count, duration


def when(sub: Subscriber) -> str:
    """``daily at 07:00 (Europe/Berlin)``, ``weekly on Monday at 07:00 (UTC)``."""
    day = "daily" if sub.frequency == "daily" else f"weekly on {WEEKDAYS[sub.weekday].title()}"
    return f"{day} at {sub.send_at:%H:%M} ({sub.timezone})"


def liked_count(sub: Subscriber) -> int:
    """The papers the reader liked: ``papers`` and the entries of ``library``."""
    return len(sub.papers) + len(sub.library)


def about(sub: Subscriber) -> str:
    """What the issues hold, in a phrase that reads after "with": the topics (listed apart,
    when there are any) and the papers close to the liked ones."""
    liked = liked_count(sub)
    close = f"papers close to {'the paper' if liked == 1 else f'the {liked} papers'} you liked"
    if sub.topics and liked:
        return f"papers about your topics, and {close}"
    return "papers about your topics" if sub.topics else close


def first_issue(sub: Subscriber, now: datetime, tick_minutes: int) -> str:
    """When the reader's first issue goes out, as the scheduler will send it: within one tick
    of the moment it is due (``next_due``)."""
    due, local = next_due(sub, now), local_now(sub, now)
    within = duration(timedelta(minutes=tick_minutes))
    if due <= local:
        return f"within {within}"
    if due.date() == local.date():
        day = "today"
    elif due.date() == local.date() + timedelta(days=1):
        day = f"tomorrow, {due:%A} {due.day} {due:%B},"
    else:
        day = f"on {due:%A} {due.day} {due:%B},"
    return f"{day} within {within} after {due:%H:%M} ({sub.timezone})"


def recognised(found: int, total: int) -> str:
    """``3 of 5 liked papers recognised``."""
    return f"{found} of {count(total, 'liked paper')} recognised"
