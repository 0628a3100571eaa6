"""Fixtures for the service tests: a config on a SQLite file, a memory mailer, a movable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from newsletter.app.service import Service
from newsletter.app.stages import Stages
from newsletter.config import Config, Secrets, config_from_dict
from newsletter.delivery.base import MailerEnv, NoOptions
from newsletter.delivery.memory import MemoryMailer
from newsletter.models import Paper, Subscriber
from newsletter.store import open_engine
from newsletter.store.papers import upsert_papers
from newsletter.store.profiles import upsert_subscriber
from tests.sources.http_site import Site as HttpSite
from tests.sources.http_site import serve

SECRET = "service-test-secret-0123456789abcdef"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def service_config(tmp_path: Path, database_url: str = "", **schedule: Any) -> Config:
    data = {
        "newsletter": {
            "sender": "Paper Digest <digest@news.example.org>",
            "base_url": "https://news.example.org",
            "database_url": database_url or f"sqlite:///{tmp_path / 'news.db'}",
        },
        "match": {"semantic": False},
        "email": {"quiet_day": "send"},
        "mailers": {"mem": {"backend": "memory"}},
        "delivery": {"mailer": "mem"},
        "schedule": {"tick_minutes": 10, **schedule},
    }
    env = {"NEWSLETTER_SECRET_KEY": SECRET}
    return config_from_dict(data, tmp_path, str(tmp_path / "newsletter.toml"), env)


def memory_mailer(tmp_path: Path) -> MemoryMailer:
    return MemoryMailer("mem", NoOptions(), MailerEnv(Secrets({}), tmp_path))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return service_config(tmp_path)


@pytest.fixture
def engine(config: Config) -> Iterator[Engine]:
    eng = open_engine(config.database_url)
    yield eng
    eng.dispose()


def add_subscriber(engine: Engine, email: str, tz: str, at: str, **kw: Any) -> Subscriber:
    hh, mm = map(int, at.split(":"))
    kw.setdefault("topics", ("spiking neural networks",))
    sub = Subscriber(email=email, timezone=tz, send_at=time(hh, mm), origin="web", **kw)
    with engine.begin() as conn:
        upsert_subscriber(conn, sub, datetime(2026, 1, 1, tzinfo=UTC))
    return sub


def add_papers(engine: Engine, now: datetime, tag: str, n: int = 3) -> None:
    papers = [
        Paper(
            title=f"Spiking neural networks for {tag} task {i}",
            abstract=f"We train spiking neural networks on {tag} benchmark {i}.",
        )
        for i in range(n)
    ]
    with engine.begin() as conn:
        upsert_papers(conn, papers, "test", now)


def make_service(
    config: Config, engine: Engine, mailer: MemoryMailer, clock: Clock, owner: str = "test-owner"
) -> Service:
    return Service(Stages.build(config, engine), lambda: mailer, clock=clock, owner=owner)


@pytest.fixture
def site() -> Iterator[HttpSite]:
    """A scripted HTTP server on 127.0.0.1 (the arXiv API, a package index), stopped after."""
    with serve() as live:
        yield live
