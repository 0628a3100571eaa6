"""End to end in headless Debian chromium: subscribe, confirm from the email that an SMTP server
on loopback received, change preferences, get an issue, click "Less like this" (recorded in
one click), unsubscribe;
open an issue's web copy at two widths, its archive and its feed."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from datetime import time as dt_time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from newsletter.app.accounts import Site
from newsletter.app.enqueue import enqueue_due
from newsletter.app.queued_issue import Builder
from newsletter.app.readers import load_subscribers
from newsletter.app.stages import Stages
from newsletter.config import Config, config_from_dict
from newsletter.delivery.base import mailer_from_config
from newsletter.delivery.outbox import send_due
from newsletter.models import Subscriber
from newsletter.store import open_engine
from newsletter.store.history import feedback_for
from newsletter.store.papers import upsert_papers
from newsletter.store.profiles import get_subscriber, upsert_subscriber
from newsletter.web.app import create_app

from .conftest import PAPERS, SECRET

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append(message_from_bytes(raw, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def body(self, index: int, kind: str) -> str:
        part = self.messages[index].get_body(preferencelist=(kind,))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def in_own_thread(scenario: Callable[[Any], None]) -> None:
    """Run ``scenario(browser)`` with a fresh Playwright in a thread of its own.

    Playwright's sync API refuses to start where another sync Playwright (the render tests'
    session browser) already runs an event loop, so this test never shares that thread.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with sync_api.sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    scenario(browser)
                finally:
                    browser.close()
        except BaseException as exc:  # handed to the test's thread below
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the browser scenario did not finish"
    if failure:
        raise failure[0]


def e2e_config(tmp_path: Path, smtp_port: int, web_port: int) -> Config:
    data = {
        "newsletter": {
            "name": "Paper Digest",
            "sender": "Paper Digest <digest@news.example.org>",
            "base_url": f"http://127.0.0.1:{web_port}",
            "database_url": f"sqlite:///{tmp_path / 'e2e.db'}",
        },
        "match": {"semantic": False},
        "mailers": {
            "smtp": {"backend": "smtp", "host": "127.0.0.1", "port": smtp_port, "security": "none"}
        },
        "delivery": {"mailer": "smtp"},
    }
    return config_from_dict(
        data, tmp_path, str(tmp_path / "newsletter.toml"), {"NEWSLETTER_SECRET_KEY": SECRET}
    )


@pytest.fixture
def served(tmp_path: Path, inbox: tuple[Inbox, int]) -> Iterator[tuple[Config, Engine, str]]:
    port = free_port()
    config = e2e_config(tmp_path, inbox[1], port)
    engine = open_engine(config.database_url)
    with engine.begin() as conn:
        upsert_papers(conn, PAPERS, "test", datetime.now(UTC))
    site = Site(config, engine, lambda: mailer_from_config(config))
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(site), host="127.0.0.1", port=port, log_config=None, access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.05)
    yield config, engine, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    engine.dispose()


def send_issue(config: Config, engine: Engine) -> None:
    """What the scheduler's tick does, once, now."""
    now = datetime.now(UTC)
    stages = Stages.build(config, engine)
    report = enqueue_due(stages, load_subscribers(config, engine, now), now)
    assert report.enqueued == 1, report.skipped
    build = Builder(engine, stages.composer)
    assert send_due(engine, mailer_from_config(config), config.delivery, now=now,
                    build=build).sent == 1


@pytest.mark.slow
def test_subscribe_confirm_edit_feedback_unsubscribe(
    served: tuple[Config, Engine, str], inbox: tuple[Inbox, int]
) -> None:
    in_own_thread(lambda browser: scenario(browser, *served, inbox[0]))


def scenario(browser: Any, config: Config, engine: Engine, base: str, mail: Inbox) -> None:
    """Everything a new reader does, in order, as a reader would do it."""
    context = browser.new_context(
        timezone_id="America/Chicago", viewport={"width": 375, "height": 800}
    )
    page = context.new_page()
    page.goto(base + "/")
    assert page.input_value("#timezone") == "America/Chicago"  # pre-filled from the browser
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # fits a phone
    page.fill("#email", "grace@example.org")
    page.fill("#topics", "spiking neural networks\nneuromorphic hardware")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Check your inbox")

    deadline = time.monotonic() + 10  # the confirmation goes out from a background sender
    while not mail.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(mail.messages) == 1 and mail.messages[0]["To"] == "grace@example.org"
    link = re.search(r"http://127\.0\.0\.1:\d+/confirm\?token=\S+", mail.body(0, "plain"))
    assert link
    page.goto(link.group(0))
    page.click("text=Confirm my subscription")
    page.wait_for_selector("text=You are subscribed")
    assert "Spiking neural networks on neuromorphic chips" in page.content()

    page.click("text=Change your preferences")
    page.wait_for_selector("text=Your preferences")
    page.fill("#topics", "spiking neural networks\nkeyword spotting")
    page.fill("#send_at", "00:00")
    page.click("text=Save")
    page.wait_for_selector("text=Preferences saved")
    with engine.connect() as conn:
        stored = get_subscriber(conn, "grace@example.org")
    assert stored is not None and stored.status == "active"
    assert stored.subscriber.topics == ("spiking neural networks", "keyword spotting")
    assert stored.subscriber.timezone == "America/Chicago"

    send_issue(config, engine)
    assert len(mail.messages) == 2
    page.set_content(mail.body(1, "html"))
    page.click("text=Less like this >> nth=0")
    page.wait_for_selector("text=Thank you")  # the page records the vote by itself
    assert "fewer papers like " in page.content()
    with engine.connect() as conn:
        assert list(feedback_for(conn, "grace@example.org").values()) == [-1]
    page.click("text=See or undo your feedback")
    page.wait_for_selector("text=Your feedback")
    page.click("button:has-text('Undo')")
    page.wait_for_selector("text=Your preferences")
    assert "Your feedback" not in page.content()
    with engine.connect() as conn:
        assert feedback_for(conn, "grace@example.org") == {}

    page.set_content(mail.body(1, "html"))
    page.click("text=Unsubscribe")
    page.wait_for_selector("text=Stop sending")
    page.click("button:has-text('Unsubscribe')")
    page.wait_for_selector("text=You are unsubscribed")
    with engine.connect() as conn:
        stored = get_subscriber(conn, "grace@example.org")
    assert stored is not None and stored.status == "unsubscribed"
    context.close()


@pytest.mark.slow
def test_form_errors_are_all_shown_beside_their_fields(
    served: tuple[Config, Engine, str], inbox: tuple[Inbox, int]
) -> None:
    in_own_thread(lambda browser: bad_signup(browser, served[2], inbox[0]))


BAD_FIELDS = {
    "#email": "ada@example",  # the browser's own check lets this through; ours does not
    "#timezone": "Mars/Base",
    "#exclude": "x" * 201,
    "#topics": "",
}


def bad_signup(browser: Any, base: str, mail: Inbox) -> None:
    """A sign-up with four bad fields: each problem next to its field, what was typed kept."""
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto(base + "/")
    page.fill("#name", "Ada")
    for selector, value in BAD_FIELDS.items():
        page.fill(selector, value)
    page.click("button[type=submit]")
    page.wait_for_selector(".error-summary")
    assert page.inner_text(".error-summary h2") == "Please fix 4 things in this form"
    assert page.locator(".error-summary li").count() == 4
    for selector, value in BAD_FIELDS.items():
        field = page.locator(selector)
        assert field.input_value() == value, selector
        assert field.get_attribute("aria-invalid") == "true", selector
        message = page.locator("#" + field.get_attribute("aria-describedby"))
        assert message.is_visible(), selector
        text = message.inner_text()
        assert "field '" not in text and text.endswith("."), text
        above, box = message.bounding_box(), field.bounding_box()
        gap = box["y"] - (above["y"] + above["height"])
        assert 0 <= gap < 16, (selector, gap)  # right above its own field
        assert page.locator(f".error-summary a[href='{selector}']").inner_text() == text
    assert "like 'graph neural networks'" in page.inner_text("#topics-error")
    assert page.input_value("#name") == "Ada"
    assert page.get_attribute("#name", "aria-invalid") is None  # a good field is left alone
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.click(".error-summary a[href='#timezone']")
    page.wait_for_function("location.hash === '#timezone'")

    page.fill("#email", "ada@example.org")
    page.fill("#timezone", "Europe/Paris")
    page.fill("#exclude", "protein folding")
    page.fill("#topics", "graph neural networks")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Check your inbox")
    page.close()


@pytest.mark.slow
def test_web_copy_fits_and_the_archive_links_work(
    served: tuple[Config, Engine, str], inbox: tuple[Inbox, int]
) -> None:
    config, engine, _ = served
    with engine.begin() as conn:
        reader = Subscriber(email="lin@example.org", topics=("spiking neural networks",),
                            send_at=dt_time(0, 0))
        upsert_subscriber(conn, reader, datetime.now(UTC), status="active")
    send_issue(config, engine)
    message = inbox[0].messages[-1]
    url = str(message["Archived-At"]).strip("<>")
    text = inbox[0].body(-1, "plain").replace("\r\n", "\n")
    titles = re.findall(r"^\d+\. (.+)$", text, re.MULTILINE)
    assert len(titles) >= 2  # the "In this issue" list, in order
    in_own_thread(lambda browser: browse_archive(browser, url, titles[: len(titles) // 2]))


def browse_archive(browser: Any, url: str, titles: list[str]) -> None:
    """The web copy at a phone's and a desktop's width, then archive -> issue and the feed."""
    for width in (375, 1280):
        page = browser.new_page(viewport={"width": width, "height": 800})
        page.goto(url)
        text = page.inner_text("body")
        at = [text.find(t) for t in titles]
        assert all(i >= 0 for i in at) and at == sorted(at), (titles, at)
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), width
        page.close()
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto(url)
    page.click("text=Past issues")
    page.wait_for_selector("text=Your past issues")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    feed = page.get_attribute("link[rel=alternate][type='application/atom+xml']", "href")
    page.click(".card a")
    page.wait_for_selector("text=In this issue")
    assert page.url.split("?")[0] == url.split("?")[0] and titles[0] in page.inner_text("body")
    answer = page.request.get(feed)
    assert answer.ok and answer.headers["content-type"].startswith("application/atom+xml")
    assert titles[0] in answer.text()
    page.close()
