"""Two schedulers on one database: only the lease holder acts; the other takes over after it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from newsletter.app.service import LEASE_TTL, Service, build_scheduler, crontab_trigger
from newsletter.config import Config
from newsletter.errors import ConfigError
from newsletter.store import locks

from .conftest import Clock, add_papers, add_subscriber, make_service, memory_mailer, service_config

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


def test_acquire_renew_expire_and_release(open_db: Callable[..., Engine]) -> None:
    engine = open_db()
    ttl = timedelta(minutes=3)
    assert locks.acquire(engine, "job", "a", now=NOW, ttl=ttl)
    assert not locks.acquire(engine, "job", "b", now=NOW + timedelta(minutes=1), ttl=ttl)
    assert locks.acquire(engine, "job", "a", now=NOW + timedelta(minutes=2), ttl=ttl)  # renew
    assert not locks.acquire(engine, "job", "b", now=NOW + timedelta(minutes=4), ttl=ttl)
    assert locks.acquire(engine, "job", "b", now=NOW + timedelta(minutes=6), ttl=ttl)  # expired
    assert not locks.acquire(engine, "job", "a", now=NOW + timedelta(minutes=7), ttl=ttl)
    assert locks.release(engine, "job", "b", now=NOW + timedelta(minutes=7))
    assert locks.acquire(engine, "job", "a", now=NOW + timedelta(minutes=7), ttl=ttl)
    assert not locks.release(engine, "job", "b", now=NOW + timedelta(minutes=7))


def test_racing_processes_never_both_win(open_db: Callable[..., Engine]) -> None:
    engine = open_db()
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def race(owner: str) -> None:
        barrier.wait()
        if locks.acquire(engine, "race", owner, now=NOW, ttl=LEASE_TTL):
            wins.append(owner)

    threads = [threading.Thread(target=race, args=(f"p{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1


def two_services(config: Config, engine: Engine, tmp_path: Path) -> tuple[Service, Service, Clock]:
    clock = Clock(NOW)
    one = make_service(config, engine, memory_mailer(tmp_path), clock, owner="one")
    two = make_service(config, engine, memory_mailer(tmp_path), clock, owner="two")
    return one, two, clock


def test_second_scheduler_stays_idle_and_no_email_doubles(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    add_subscriber(engine, "ada@example.org", "UTC", "08:00")
    add_papers(engine, NOW, "lease")
    one, two, clock = two_services(config, engine, tmp_path)
    assert one.tick() is not None
    assert two.tick() is None and two.fetch() is None
    clock.now += timedelta(minutes=1)
    one.heartbeat()
    assert two.tick() is None
    sent = one.mailer().outbox + two.mailer().outbox  # type: ignore[attr-defined]
    assert [m.to for m in sent] == ["ada@example.org"]


def test_fail_over_after_the_holder_dies_and_at_once_after_a_clean_stop(
    config: Config, engine: Engine, tmp_path: Path
) -> None:
    one, two, clock = two_services(config, engine, tmp_path)
    assert one.tick() is not None
    clock.now += LEASE_TTL + timedelta(seconds=1)  # "one" was killed: no heartbeat
    assert two.tick() is not None
    assert one.tick() is None
    two.stop()
    assert one.tick() is not None


def test_scheduler_jobs_and_policies(engine: Engine, tmp_path: Path) -> None:
    config = service_config(tmp_path, fetch_cron="0 * * * 1-5", timezone="Europe/Berlin")
    service = make_service(config, engine, memory_mailer(tmp_path), Clock(NOW))
    scheduler = build_scheduler(service)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"fetch", "tick", "heartbeat", "prune"}
    assert jobs["prune"].trigger.interval == timedelta(days=1)
    saturday = datetime(2026, 6, 6, 12, 30, tzinfo=UTC)
    monday = jobs["fetch"].trigger.get_next_fire_time(None, saturday)
    assert monday == datetime(2026, 6, 7, 22, 0, tzinfo=UTC)  # Monday 00:00 in Berlin
    assert jobs["tick"].trigger.interval == timedelta(minutes=10)
    assert jobs["tick"].next_run_time == NOW  # a tick at start-up catches up after downtime
    for job in jobs.values():
        assert job.coalesce is True
        assert job.misfire_grace_time == 12 * 3600
        assert job.max_instances == 1


def test_scheduler_runs_the_start_up_tick(config: Config, engine: Engine, tmp_path: Path) -> None:
    add_subscriber(engine, "ada@example.org", "UTC", "00:00")
    mailer = memory_mailer(tmp_path)
    done = threading.Event()
    service = Service(make_service(config, engine, mailer, Clock(NOW)).stages, lambda: mailer)
    original = service.tick

    def tick() -> object:
        try:
            return original()
        finally:
            done.set()

    service.tick = tick  # type: ignore[method-assign]
    scheduler = build_scheduler(service)
    scheduler.start()
    try:
        assert done.wait(20), "the start-up tick did not run"
    finally:
        scheduler.shutdown(wait=True)
        service.stop()
    assert [m.to for m in mailer.outbox] == ["ada@example.org"]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"fetch_cron": "61 * * * *"}, "key 'schedule.fetch_cron': '61 * * * *'"),
        ({"timezone": "Mars/Olympus"}, "key 'schedule.timezone': unknown IANA timezone"),
        ({"tick_minutes": 0}, "key 'schedule.tick_minutes' must be from 1 to 1440, not 0"),
    ],
)
def test_bad_schedule_settings_are_one_line_errors(
    tmp_path: Path, engine: Engine, schedule: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match="newsletter.toml: " + message.replace("*", r"\*")):
        config = service_config(tmp_path, **schedule)  # bounds are checked when it is read
        build_scheduler(make_service(config, engine, memory_mailer(tmp_path), Clock(NOW)))


@pytest.mark.parametrize(
    ("cron", "fires"),
    [
        ("0 6 * * 1-5", [0, 1, 2, 3, 4]),  # weekdays, as cron means it
        ("0 6 * * 0", [6]),
        ("0 6 * * 7", [6]),
        ("0 6 * * 5-7", [4, 5, 6]),
        ("0 6 * * */2", [1, 3, 5, 6]),  # Sun, Tue, Thu, Sat
        ("0 6 * * sat,sun", [5, 6]),
        ("0 6 * * *", [0, 1, 2, 3, 4, 5, 6]),
    ],
)
def test_crontab_weekdays_mean_what_cron_means(cron: str, fires: list[int]) -> None:
    trigger = crontab_trigger(cron, ZoneInfo("UTC"))
    moment, seen = datetime(2026, 6, 1, tzinfo=UTC), set()  # a Monday
    for _ in range(7):
        moment = trigger.get_next_fire_time(None, moment) + timedelta(minutes=1)
        seen.add(moment.weekday())
    assert sorted(seen) == fires
