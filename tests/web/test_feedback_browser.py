"""Feedback in headless Chromium: a person's click on "More like this" records the vote in one
click and can undo it; without scripts the page's button does it; a scanner that opens every
link of the issue within seconds, running each page's scripts, records nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from newsletter.config import Config
from newsletter.models import Subscriber
from newsletter.store.history import feedback_for
from newsletter.store.profiles import get_subscriber, upsert_subscriber

from .test_browser import Inbox, in_own_thread, inbox, send_issue, served  # noqa: F401

READER = "lin@example.org"


def votes(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return feedback_for(conn, READER)


@pytest.mark.slow
def test_one_click_for_a_person_none_for_a_scanner(
    served: tuple[Config, Engine, str], inbox: tuple[Inbox, int]  # noqa: F811
) -> None:
    config, engine, base = served
    with engine.begin() as conn:
        reader = Subscriber(email=READER, topics=("spiking neural networks",),
                            send_at=datetime.min.time())
        upsert_subscriber(conn, reader, datetime.now(UTC), status="active")
    send_issue(config, engine)
    html = inbox[0].body(-1, "html")
    links = sorted({u.replace("&amp;", "&") for u in re.findall(r'href="([^"]+)"', html)
                    if u.startswith(base)})
    assert sum("/f/" in u for u in links) >= 4
    in_own_thread(lambda browser: clicks(browser, html, links, engine))


def clicks(browser: Any, html: str, links: list[str], engine: Engine) -> None:
    person = browser.new_context(viewport={"width": 390, "height": 800})
    page = person.new_page()
    page.set_content(html)
    page.click("text=More like this >> nth=0")
    page.wait_for_selector("text=Thank you")
    assert "Recorded: you will see more papers like" in page.inner_text("body")
    assert list(votes(engine).values()) == [1]
    page.click("button:has-text('Undo')")
    page.wait_for_selector("text=Feedback undone")
    assert votes(engine) == {}
    person.close()

    no_script = browser.new_context(java_script_enabled=False)
    page = no_script.new_page()
    page.set_content(html)
    page.click("text=Less like this >> nth=0")
    page.wait_for_selector("button:has-text('Less like this')")
    assert votes(engine) == {}  # without a script, opening the link records nothing
    page.click("button:has-text('Less like this')")
    page.wait_for_selector("text=Thank you")
    assert list(votes(engine).values()) == [-1]
    page.click("button:has-text('Undo')")
    page.wait_for_selector("text=Feedback undone")
    no_script.close()

    scanner = browser.new_context()
    page = scanner.new_page()
    for url in links:  # every link of the issue, each page's scripts run, one after another
        page.goto(url)
        page.wait_for_load_state("networkidle")
    scanner.close()
    assert votes(engine) == {}
    with engine.connect() as conn:
        stored = get_subscriber(conn, READER)
    assert stored is not None and stored.status == "active"
