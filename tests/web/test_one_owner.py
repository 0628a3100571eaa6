"""One owner per reader: an address whose profile a subscriber file keeps signs up on the web
with other topics; the pages tell them the operator keeps their preferences, the file's profile
stays (the reader is subscribed again), and the next sync tells the operator, once."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter.app.readers import sync_folder, sync_subscribers
from newsletter.config import Config
from newsletter.delivery.memory import MemoryMailer
from newsletter.store.profiles import get_subscriber, set_status

from .conftest import NOW, Clock, confirm_link, confirm_token, csrf_of, subscribe

FILE = 'email = "ada@example.org"\ntopics = ["protein folding"]\n'


@pytest.fixture
def kept(config: Config, engine: Engine, clock: Clock) -> Path:
    """Ada's profile in the operator's subscribers folder; she unsubscribed since."""
    folder = config.path(config.newsletter.subscribers_dir)
    folder.mkdir()
    (folder / "ada.toml").write_text(FILE)
    sync_folder(engine, folder, NOW)
    with engine.begin() as conn:
        set_status(conn, "ada@example.org", "unsubscribed", NOW)
    clock.now = NOW + timedelta(hours=1)
    return folder


def test_a_file_kept_reader_signing_up_on_the_web_is_told_and_so_is_the_operator(
    client: TestClient, mailer: MemoryMailer, engine: Engine, config: Config, kept: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert subscribe(client, topics="spiking neural networks").status_code == 200
    page = client.get(confirm_link(mailer))
    assert "keep the preferences of ada@example.org" in " ".join(page.text.split())
    done = client.post("/confirm", data={"csrf": csrf_of(page.text),
                                         "token": confirm_token(mailer)})
    text = " ".join(done.text.split())
    assert done.status_code == 200 and "You are subscribed" in text
    assert "keep your preferences themselves" in text and "reply to any issue" in text
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None and stored.status == "active"  # subscribed again ...
    assert stored.subscriber.topics == ("protein folding",)  # ... with the file's profile
    assert stored.subscriber.origin == str(kept / "ada.toml")

    with caplog.at_level(logging.WARNING):
        report = sync_subscribers(config, engine, NOW + timedelta(hours=2))
    assert report is not None and len(report.told) == 1
    assert report.told[0].startswith("ada@example.org: signed up again on the web on ")
    assert "asking for topics spiking neural networks" in report.told[0]
    assert f"the file {kept / 'ada.toml'} keeps their profile" in report.told[0]
    assert report.told[0] in caplog.text
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None and stored.subscriber.topics == ("protein folding",)
    assert stored.status == "active"
    again = sync_folder(engine, kept, NOW + timedelta(hours=3))
    assert again.told == ()  # told once


def test_a_web_reader_signing_up_again_keeps_the_web_profile(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    """No file: the web sign-up is the reader's own, and replaces the stored profile."""
    subscribe(client, topics="protein folding")
    client.post("/confirm", data={"csrf": csrf_of(client.get(confirm_link(mailer)).text),
                                  "token": confirm_token(mailer)})
    subscribe(client, topics="spiking neural networks")
    page = client.get(confirm_link(mailer))
    assert "keep the preferences" not in page.text
    client.post("/confirm", data={"csrf": csrf_of(page.text), "token": confirm_token(mailer)})
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None and stored.subscriber.topics == ("spiking neural networks",)
