"""Who is due: local send times across timezones, DST changes and weekly subscribers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from newsletter.app.promises import first_issue
from newsletter.models import Subscriber
from newsletter.schedule import due_date, next_due, why_not_due


def sub(tz: str, at: str = "07:00", **kw: object) -> Subscriber:
    hh, mm = map(int, at.split(":"))
    return Subscriber(email="a@example.org", topics=("x",), timezone=tz, send_at=time(hh, mm), **kw)  # type: ignore[arg-type]


def issue_dates(s: Subscriber, start: datetime, hours: int, step_minutes: int = 5) -> list[date]:
    """Every distinct due date a ticking scheduler would see, ticks every few minutes."""
    seen: list[date] = []
    t = start
    while t < start + timedelta(hours=hours):
        d = due_date(s, t)
        if d is not None and d not in seen:
            seen.append(d)
        t += timedelta(minutes=step_minutes)
    return seen


def test_due_after_local_send_time_in_each_timezone() -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert due_date(sub("Europe/Berlin"), now) == date(2026, 6, 1)  # 14:00 local
    assert due_date(sub("America/Los_Angeles"), now) is None  # 05:00 local
    assert due_date(sub("Asia/Tokyo", "22:00"), now) is None  # 21:00 local
    assert due_date(sub("Pacific/Kiritimati", "01:00"), now) == date(2026, 6, 2)  # 02:00 tomorrow


def test_one_issue_per_day_across_spring_forward() -> None:
    # Europe/Berlin skips 02:00-03:00 on 2026-03-29; a 02:30 send time still fires that day.
    s = sub("Europe/Berlin", "02:30")
    days = issue_dates(s, datetime(2026, 3, 27, 0, 0, tzinfo=UTC), hours=24 * 4)
    assert days == [date(2026, 3, 27), date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]


def test_one_issue_per_day_across_fall_back() -> None:
    # America/New_York repeats 01:00-02:00 on 2026-11-01.
    s = sub("America/New_York", "01:30")
    days = issue_dates(s, datetime(2026, 10, 31, 12, 0, tzinfo=UTC), hours=60)
    assert days == [date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)]


def test_weekly_subscriber_only_on_their_weekday() -> None:
    s = sub("UTC", frequency="weekly", weekday=2)  # Wednesday
    days = issue_dates(s, datetime(2026, 11, 23, tzinfo=UTC), hours=24 * 14, step_minutes=60)
    assert days == [date(2026, 11, 25), date(2026, 12, 2)]
    assert why_not_due(s, datetime(2026, 11, 23, 9, tzinfo=UTC)) == "weekly, not today"


def test_paused_subscriber_is_never_due() -> None:
    s = sub("UTC", active=False)
    assert due_date(s, datetime(2026, 11, 23, 9, tzinfo=UTC)) is None
    assert why_not_due(s, datetime(2026, 11, 23, 9, tzinfo=UTC)) == "paused"


@pytest.mark.parametrize("send_at", ["00:00", "06:59", "07:00", "13:45", "23:59"])
@pytest.mark.parametrize("frequency", ["daily", "weekly"])
@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Pacific/Kiritimati"])
def test_next_due_is_the_first_moment_a_reader_is_due(
    send_at: str, frequency: str, zone: str
) -> None:
    """What the confirmation page promises (``next_due``) is when enqueue finds them due."""
    reader = sub(zone, send_at, frequency=frequency, weekday=2)
    for start in (datetime(2026, 3, 8, 9, tzinfo=UTC), datetime(2026, 6, 1, 22, 7, tzinfo=UTC)):
        due = next_due(reader, start)
        assert due_date(reader, due) is not None
        if due > start:
            assert due_date(reader, due - timedelta(minutes=1)) is None
            assert first_issue(reader, start, 5).endswith(f"after {send_at} ({zone})")
        else:
            assert first_issue(reader, start, 5) == "within 5 minutes"
