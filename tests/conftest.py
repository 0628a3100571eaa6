"""Fixtures shared by the whole suite: the seed pages, databases (SQLite, PostgreSQL), configs."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import settings
from sqlalchemy.engine import Engine

import newsletter.config
from newsletter.config import Config, config_from_dict
from newsletter.store import open_engine

# CI runs the property tests on fixed examples (each test's own, derived from its name), so a
# run passes or fails the same way twice; a developer's run explores new ones each time.
settings.register_profile("ci", derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def nothing_leaves_this_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No command a test runs downloads the sentence model, asks the arXiv API or writes to
    ~/.cache: tests that download or ask name a loopback server of their own; and no socket
    connects beyond loopback (``loopback_only``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEWSLETTER_MODEL_INDEX", "off")
        patch.setenv("NEWSLETTER_MODEL_CACHE", str(tmp_path_factory.mktemp("model-cache")))
        patch.setenv("NEWSLETTER_ARXIV_API", "off")  # CLI commands, which read the environment
        patch.setattr(newsletter.config, "ARXIV_API", "")  # configs built in the test process
        for name in ("connect", "connect_ex"):
            patch.setattr(socket.socket, name, loopback_only(getattr(socket.socket, name)))
        yield


def loopback_only(connect: Callable[..., Any]) -> Callable[..., Any]:
    """``connect`` refusing any address but loopback and local sockets: a test that would
    reach the network fails at once, naming the address."""

    def guarded(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not (host == "localhost" or _loopback(host)):
                raise ConnectionRefusedError(f"tests reach only loopback, not {host}")
        return connect(sock, address)

    return guarded


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:  # a name: resolving it would already leave the machine
        return False


def _seeds_dir() -> Path:
    return Path(os.environ.get("NEWSLETTER_SEEDS", REPO.parent / "shared" / "seeds"))


NO_SEEDS = "seed pages not found in"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The real sample digest pages (../shared/seeds): tests read them, the package never does."""
    path = _seeds_dir()
    if not any(path.glob("*.txt")):
        pytest.skip(f"{NO_SEEDS} {path} (set NEWSLETTER_SEEDS)")
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line at the end when tests skipped for want of the seed pages."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if NO_SEEDS in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} tests skipped: {NO_SEEDS} {_seeds_dir()}; set NEWSLETTER_SEEDS to "
            "the folder of seed pages (see the README, Development)"
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database: SQLite, and PostgreSQL when NEWSLETTER_TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = os.environ.get("NEWSLETTER_TEST_DATABASE_URL")
    if not base:
        pytest.skip("PostgreSQL tests need NEWSLETTER_TEST_DATABASE_URL")
    yield from postgres_schema(base)


@pytest.fixture
def second_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Another fresh empty database of the same kind as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
        return
    yield from postgres_schema(os.environ["NEWSLETTER_TEST_DATABASE_URL"])


def postgres_schema(base: str) -> Iterator[str]:
    """A throw-away schema on the test server, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = base.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def make_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Build a validated Config from a dict, rooted in the test's temporary folder."""

    def make(data: dict | None = None, env: dict | None = None) -> Config:  # type: ignore[type-arg]
        return config_from_dict(data or {}, tmp_path, str(tmp_path / "newsletter.toml"), env or {})

    return make


@pytest.fixture
def open_db(database_url: str) -> Iterator[Callable[..., Engine]]:
    """Open (and at teardown dispose) engines on the test database."""
    engines: list[Engine] = []

    def open_(upgrade: bool = True) -> Engine:
        engine = open_engine(database_url, upgrade=upgrade)
        engines.append(engine)
        return engine

    yield open_
    for engine in engines:
        engine.dispose()


NEEDS_PG = (
    "needs PostgreSQL: set NEWSLETTER_TEST_DATABASE_URL"
    " (e.g. postgresql://postgres@127.0.0.1:5432/test)"
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections use a fresh schema of their own, dropped afterwards."""
    base = os.environ.get("NEWSLETTER_TEST_DATABASE_URL")
    if not base:
        pytest.skip(NEEDS_PG)
    yield from postgres_schema(base)
