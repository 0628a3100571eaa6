"""The tick over simulated days: timezones, DST changes, a 10-hour outage; one issue per due day."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsletter.app.service import Service, day_ends
from newsletter.config import Config
from newsletter.models import Subscriber
from newsletter.store.outbox import outbox

from .conftest import (
    Clock,
    add_papers,
    add_subscriber,
    make_service,
    memory_mailer,
    service_config,
)

START = datetime(2026, 3, 26, tzinfo=UTC)
END = datetime(2026, 4, 7, tzinfo=UTC)
OUTAGE = (datetime(2026, 3, 31, 16, tzinfo=UTC), datetime(2026, 4, 1, 2, tzinfo=UTC))


def run_days(service: Service, clock: Clock, engine: Engine, outage: bool = True) -> None:
    """Tick every 10 minutes from START to END (not during the outage); fetch papers daily."""
    clock.now = START
    while clock.now < END:
        down = outage and OUTAGE[0] <= clock.now < OUTAGE[1]
        if not down:
            if clock.now.hour == 0 and clock.now.minute == 0:
                add_papers(engine, clock.now, clock.now.date().isoformat())
            service.tick()
        clock.now += timedelta(minutes=10)


def expected_days(sub: Subscriber) -> list[date]:
    """Local dates whose send time comes before END and which had not ended at START (a
    service that starts after the day's send time sends that day's issue at once)."""
    tz = ZoneInfo(sub.timezone)
    day, days = START.date() - timedelta(days=1), []
    while day <= END.date():
        instant = datetime.combine(day, sub.send_at, tzinfo=tz).astimezone(UTC)
        day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        weekly_ok = sub.frequency == "daily" or day.weekday() == sub.weekday
        if instant < END and day_end > START and weekly_ok:
            days.append(day)
        day += timedelta(days=1)
    return days


def sent_issues(engine: Engine, mailer_outbox: list) -> Counter[tuple[str, str]]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        issue_of = dict(conn.execute(sa.select(outbox.c.message_id, outbox.c.issue_id)).all())
    return Counter((m.to, issue_of[m.message_id]) for m in mailer_outbox)


@pytest.mark.slow
def test_one_issue_per_due_day_across_dst_and_outage(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    subs = [
        add_subscriber(engine, "berlin@example.org", "Europe/Berlin", "02:30"),  # DST 03-29
        add_subscriber(engine, "sydney@example.org", "Australia/Sydney", "02:30"),  # DST 04-05
        add_subscriber(engine, "kolkata@example.org", "Asia/Kolkata", "23:50"),  # in the outage
        add_subscriber(engine, "la@example.org", "America/Los_Angeles", "06:00"),
        add_subscriber(
            engine, "tokyo@example.org", "Asia/Tokyo", "07:00", frequency="weekly", weekday=2
        ),
    ]
    add_subscriber(engine, "paused@example.org", "UTC", "07:00", active=False)
    mailer, clock = memory_mailer(tmp_path), Clock(START)
    run_days(make_service(config, engine, mailer, clock), clock, engine)
    counts = sent_issues(engine, mailer.outbox)
    assert max(counts.values()) == 1, "an issue went out twice"
    for sub in subs:
        got = sorted(d for (to, d) in counts if to == sub.email)
        assert got == [d.isoformat() for d in expected_days(sub)], sub.email
    assert not any(to == "paused@example.org" for to, _ in counts)
    # the Kolkata issue of 31 March was due during the outage and went out after it
    assert ("kolkata@example.org", "2026-03-31") in counts


def test_issue_due_during_an_outage_goes_out_once_after_it(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    """Due at 23:50 local, down from 21:20 to 07:30 local: the first tick after sends it."""
    add_subscriber(engine, "kolkata@example.org", "Asia/Kolkata", "23:50")
    mailer, clock = memory_mailer(tmp_path), Clock(OUTAGE[0] - timedelta(minutes=10))
    service = make_service(config, engine, mailer, clock)
    add_papers(engine, clock.now, "before")
    first = service.tick()
    assert first is not None and first.enqueue.skipped == {"kolkata@example.org": "not due"}
    clock.now = OUTAGE[1]  # 07:30 on 1 April in Kolkata: 1 April's issue is not due yet
    report = service.tick()
    assert report is not None and report.caught_up == 1 and report.send.sent == 1
    clock.now += timedelta(minutes=10)
    again = service.tick()
    assert again is not None and again.caught_up == 0 and again.send.sent == 0
    assert list(sent_issues(engine, mailer.outbox)) == [("kolkata@example.org", "2026-03-31")]


def test_tick_logs_what_it_did(
    config: Config, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    add_subscriber(engine, "early@example.org", "UTC", "06:00")
    add_subscriber(engine, "late@example.org", "UTC", "20:00")
    clock = Clock(datetime(2026, 5, 4, 9, tzinfo=UTC))
    add_papers(engine, clock.now, "logs")
    service = make_service(config, engine, memory_mailer(tmp_path), clock)
    with caplog.at_level(logging.INFO, logger="newsletter.service"):
        service.tick()
    line = caplog.records[-1].getMessage()
    assert line.startswith("tick: enqueued 1 (caught up 0), sent 1,")
    assert "skipped 1 (1 not due)" in line


def test_day_ends_lists_each_local_midnight_in_range() -> None:
    ends = day_ends("Asia/Kolkata", OUTAGE[0], OUTAGE[1])
    assert ends == [datetime(2026, 3, 31, 18, 29, 59, tzinfo=UTC)]
    assert day_ends("UTC", OUTAGE[0], OUTAGE[0] + timedelta(hours=1)) == []


def test_a_broken_subscriber_file_is_one_log_line_and_the_tick_goes_on(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "subscribers"
    folder.mkdir()
    (folder / "bad.toml").write_text('email = "bad@example.org"\ntopics = []\n', encoding="utf-8")
    config = service_config(tmp_path)
    service = make_service(config, engine, memory_mailer(tmp_path), Clock(START))
    with caplog.at_level(logging.INFO):
        assert service.tick() is not None
        assert service.tick() is not None  # said once, not on every tick
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = record.getMessage()
    assert message.startswith(f"{folder / 'bad.toml'}: field 'topics': is empty; ")
    assert message.endswith("; this file is skipped until it is fixed")


def test_two_days_of_ticks_on_each_database(
    database_url: str, open_db: Callable[..., Engine], tmp_path: Path
) -> None:
    """SQLite and PostgreSQL: the lease, the tick and the outbox give one issue a day."""
    config = service_config(tmp_path, database_url)
    engine = open_db()
    add_subscriber(engine, "berlin@example.org", "Europe/Berlin", "02:30")
    mailer, clock = memory_mailer(tmp_path), Clock(datetime(2026, 3, 28, 0, 5, tzinfo=UTC))
    service = make_service(config, engine, mailer, clock)
    for _ in range(2 * 24 * 2):  # every 30 minutes for two days, across the DST change
        service.tick()
        clock.now += timedelta(minutes=30)
    assert sorted(sent_issues(engine, mailer.outbox).items()) == [
        (("berlin@example.org", "2026-03-28"), 1),
        (("berlin@example.org", "2026-03-29"), 1),
    ]
