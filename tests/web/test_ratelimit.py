"""The sign-up limits: the in-memory sliding window (SQLite), and on PostgreSQL one count that
every web process shares."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from starlette.testclient import TestClient

from newsletter.app.accounts import Site
from newsletter.delivery.memory import MemoryMailer
from newsletter.store import open_engine
from newsletter.store.limits import LocalWindow, SharedWindow
from newsletter.web.app import create_app

from .conftest import NOW, Clock, subscribe, web_config


def test_limit_per_key_within_a_sliding_window() -> None:
    clock = Clock(NOW)
    limiter = LocalWindow(clock)
    hour = timedelta(hours=1)
    assert [limiter.allow("a", 3, hour) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", 3, hour)  # other keys have their own count
    clock.now = NOW + timedelta(minutes=59)
    assert not limiter.allow("a", 3, hour)  # refusals are not counted, but the window holds
    clock.now = NOW + hour
    assert limiter.allow("a", 3, hour)  # the first three slid out of the window


def test_on_sqlite_the_site_counts_in_memory(site: Site) -> None:
    assert isinstance(site.limiter, LocalWindow)


def test_two_web_processes_on_one_postgresql_share_the_sign_up_limits(
    tmp_path: Path, pg_url: str, mailer: MemoryMailer, clock: Clock
) -> None:
    config = web_config(tmp_path, signups_per_client_hour=3, signups_per_address_day=2)
    engines = [open_engine(pg_url) for _ in range(2)]  # two processes, one database
    try:
        sites = [Site(config, e, lambda: mailer, clock=clock, send_inline=True) for e in engines]
        assert all(isinstance(s.limiter, SharedWindow) for s in sites)
        with TestClient(create_app(sites[0])) as a, TestClient(create_app(sites[1])) as b:
            # The same address twice on each site: the address limit (2 a day) holds over both.
            codes = [subscribe(c, email="ada@example.org").status_code for c in (a, b, a)]
            assert codes == [200, 200, 200] and len(mailer.outbox) == 2
            # The same client on either site: its fourth sign-up in the hour is refused.
            assert subscribe(b, email="bob@example.org").status_code == 429
    finally:
        for engine in engines:
            engine.dispose()
