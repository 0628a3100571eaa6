"""Confirmations go through the outbox: a relay that stalls or refuses holds up a background
sender, never the sign-up or unsubscribe page, and a refusal is retried, not lost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter import signed_links
from newsletter.app.accounts import Site
from newsletter.config import Config, config_from_dict
from newsletter.delivery.base import mailer_from_config
from newsletter.delivery.outbox import send_due
from newsletter.store import open_engine
from newsletter.store import outbox as store
from newsletter.web.app import create_app
from tests.delivery.smtp_sink import STALL_SECONDS, Sink

from .conftest import NOW, SECRET, Clock, subscribe


def relay_config(tmp_path: Path, port: int) -> Config:
    data = {
        "newsletter": {
            "sender": "Paper Digest <digest@news.example.org>",
            "base_url": "http://testserver",
            "database_url": f"sqlite:///{tmp_path / 'web.db'}",
        },
        "match": {"semantic": False},
        "mailers": {"relay": {"backend": "smtp", "host": "127.0.0.1", "port": port,
                              "security": "none", "timeout": 3}},
        "delivery": {"mailer": "relay", "retry_base": 0.001, "retry_max": 0.001},
    }
    return config_from_dict(data, tmp_path, "newsletter.toml", {"NEWSLETTER_SECRET_KEY": SECRET})


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as live:
        yield live


@pytest.fixture
def setup(tmp_path: Path, sink: Sink) -> Iterator[tuple[Config, Engine, TestClient]]:
    config = relay_config(tmp_path, sink.port)
    engine = open_engine(config.database_url)
    site = Site(config, engine, lambda: mailer_from_config(config), clock=Clock(NOW))
    with TestClient(create_app(site), follow_redirects=False) as client:
        yield config, engine, client
    engine.dispose()


def statuses(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(store.outbox.c.status)).scalars())


def next_rounds(engine: Engine, config: Config, seconds: float = 10.0) -> None:
    """What the scheduler's next ticks do: send what is due until nothing waits."""
    deadline = time.monotonic() + seconds
    while set(statuses(engine)) - {"sent", "failed"} and time.monotonic() < deadline:
        time.sleep(0.05)  # past retry_base, and past the background sender's own pass
        send_due(engine, mailer_from_config(config), config.delivery)


def wait_for(check: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_sign_up_answers_at_once_while_the_relay_stalls_at_data(
    setup: tuple[Config, Engine, TestClient], sink: Sink
) -> None:
    config, engine, client = setup
    sink.handler.add("DATA", "stall")  # the relay takes the message, then says nothing
    started = time.monotonic()
    page = subscribe(client, email="ada@example.org")
    answered = time.monotonic() - started
    assert page.status_code == 200 and "Check your inbox" in page.text
    # Real threads and sockets: a page that waited for the relay would take the whole stall
    # (1 s); half of it leaves a loaded 2-core machine room. The stall is the sender's.
    assert answered < STALL_SECONDS / 2, answered
    url = signed_links.unsubscribe_url("http://testserver", SECRET, "bob@example.org", now=NOW)
    for ask in (
        lambda: subscribe(client, email="carl@example.org"),
        lambda: client.post(
            url.removeprefix("http://testserver"),
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
    ):
        asked = time.monotonic()
        assert ask().status_code == 200
        assert time.monotonic() - asked < STALL_SECONDS / 2  # while the relay still stalls
    # The sender timed out on the stalled relay, queued the message again, and (the retry
    # being due at once here) delivered it when the relay answered: once, not lost.
    wait_for(lambda: sink.handler.stalling == 0 and "sending" not in statuses(engine))
    next_rounds(engine, config)  # the relay answers again
    assert statuses(engine) == ["sent", "sent"]
    assert sum(sink.received.values()) == 2 and not sink.handler.faults.get("DATA")
    assert time.monotonic() - started >= STALL_SECONDS  # the sender waited the stall out, later


def test_a_relay_refusing_with_451_loses_no_confirmation(
    setup: tuple[Config, Engine, TestClient], sink: Sink
) -> None:
    config, engine, client = setup
    sink.handler.add("RCPT", "451 4.3.0 try again later")
    assert subscribe(client, email="ada@example.org").status_code == 200
    wait_for(lambda: "sending" not in statuses(engine) and statuses(engine) != ["queued"])
    next_rounds(engine, config)  # refused once, retried, delivered once
    assert statuses(engine) == ["sent"]
    assert sum(sink.received.values()) == 1 and not sink.handler.faults.get("RCPT")


def test_an_unsubscribed_reader_who_signs_up_again_gets_the_confirmation(
    setup: tuple[Config, Engine, TestClient], sink: Sink
) -> None:
    config, engine, client = setup
    with engine.begin() as conn:
        store.suppress(conn, "ada@example.org", "unsubscribed", now=NOW)
    assert subscribe(client, email="ada@example.org").status_code == 200
    next_rounds(engine, config)
    assert statuses(engine) == ["sent"]
    with engine.begin() as conn:
        store.suppress(conn, "bob@example.org", "complained", now=NOW)
    assert subscribe(client, email="bob@example.org").status_code == 200
    time.sleep(0.3)
    # recorded as suppressed (the same work as a sign-up that is sent), never sent
    assert statuses(engine) == ["sent", "suppressed"] and sum(sink.received.values()) == 1
