"""Fixtures for the subscriber pages: a site on a SQLite file, a memory mailer, a movable clock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter.app.accounts import Site
from newsletter.config import Config, Secrets, config_from_dict
from newsletter.delivery.base import MailerEnv, NoOptions
from newsletter.delivery.memory import MemoryMailer
from newsletter.models import Paper
from newsletter.store import open_engine
from newsletter.store.papers import upsert_papers
from newsletter.web.app import create_app

SECRET = "web-test-secret-0123456789abcdef"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
PAPERS = [
    Paper(
        title="Spiking neural networks on neuromorphic chips",
        arxiv_id="2606.00001",
        abstract="We train spiking neural networks with surrogate gradients on Loihi.",
    ),
    Paper(
        title="Energy-efficient spiking neural networks for keyword spotting",
        arxiv_id="2606.00002",
        abstract="Spiking neural networks spot keywords at a fraction of the energy.",
    ),
    Paper(
        title="A survey of protein folding benchmarks",
        arxiv_id="2606.00003",
        abstract="We compare protein structure prediction benchmarks.",
    ),
]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def run_apart(func: Any, *args: Any) -> Any:
    """``anyio.run(func, *args)`` in a thread of its own: an event loop of its own (the
    session's Playwright browser keeps a loop running in the main thread)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(anyio.run, func, *args).result()


def web_config(tmp_path: Path, base_url: str = "http://testserver", **web: Any) -> Config:
    data = {
        "newsletter": {
            "name": "Paper Digest",
            "sender": "Paper Digest <digest@news.example.org>",
            "base_url": base_url,
            "database_url": f"sqlite:///{tmp_path / 'web.db'}",
        },
        "match": {"semantic": False},
        "mailers": {"mem": {"backend": "memory"}},
        "delivery": {"mailer": "mem"},
        "web": web,
    }
    return config_from_dict(
        data, tmp_path, str(tmp_path / "newsletter.toml"), {"NEWSLETTER_SECRET_KEY": SECRET}
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def mailer(tmp_path: Path) -> MemoryMailer:
    return MemoryMailer("mem", NoOptions(), MailerEnv(Secrets({}), tmp_path))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return web_config(tmp_path)


@pytest.fixture
def engine(config: Config) -> Iterator[Engine]:
    eng = open_engine(config.database_url)
    with eng.begin() as conn:
        upsert_papers(conn, PAPERS, "test", NOW)
    yield eng
    eng.dispose()


@pytest.fixture
def site(config: Config, engine: Engine, mailer: MemoryMailer, clock: Clock) -> Site:
    return Site(config, engine, lambda: mailer, clock=clock, send_inline=True)


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(create_app(site), follow_redirects=False) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def link_path(url: str) -> str:
    """The path and query of an absolute link, for the test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def confirm_link(mailer: MemoryMailer) -> str:
    found = re.search(r"http://testserver(/confirm\?token=\S+)", mailer.outbox[-1].text)
    assert found, "no confirmation link in the email"
    return found.group(1)


def form(**fields: str) -> dict[str, str]:
    base = {
        "email": "ada@example.org",
        "topics": "spiking neural networks",
        "timezone": "Europe/Paris",
        "send_at": "07:30",
        "frequency": "daily",
        "weekday": "monday",
        "max_papers": "5",
    }
    return base | fields


def subscribe(client: TestClient, **fields: str) -> Any:
    token = csrf_of(client.get("/").text)
    return client.post("/subscribe", data=form(csrf=token, **fields))


def subscribe_and_confirm(client: TestClient, mailer: MemoryMailer, **fields: str) -> Any:
    assert subscribe(client, **fields).status_code == 200
    page = client.get(confirm_link(mailer))
    return client.post(
        "/confirm", data={"csrf": csrf_of(page.text), "token": confirm_token(mailer)}
    )


def confirm_token(mailer: MemoryMailer) -> str:
    return parse_qs(urlsplit(confirm_link(mailer)).query)["token"][0]
