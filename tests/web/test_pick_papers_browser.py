""""Pick papers you would read" in headless Chromium: at 390 px a new reader reaches the paper
cards with Tab, ticks one with Space and one by clicking its card, signs up with no topics and
confirms; the picks are stored as liked papers. At 1280 px, with JavaScript off, the
preferences page offers the papers again and one more pick is added to the liked papers."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from newsletter import addresses, library_files, signed_links
from newsletter.config import Config
from newsletter.store.profiles import get_subscriber

from .conftest import PAPERS, SECRET
from .test_browser import Inbox, in_own_thread, inbox, served  # noqa: F401 (fixtures)


def liked_ids(engine: Engine, email: str) -> set[str]:
    """The arXiv ids among the reader's stored liked papers (their library)."""
    with engine.connect() as conn:
        stored = get_subscriber(conn, email)
    assert stored is not None
    keys = library_files.expand(stored.subscriber.library)
    return {k.removeprefix("arxiv:") for k in keys if k.startswith("arxiv:")}


def fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.slow
def test_pick_papers_at_390_and_1280_px(
    served: tuple[Config, Engine, str], inbox: tuple[Inbox, int]  # noqa: F811
) -> None:
    in_own_thread(lambda browser: scenario(browser, *served, inbox[0]))


def scenario(browser: Any, config: Config, engine: Engine, base: str, mail: Inbox) -> None:
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    page = phone.new_page()
    page.goto(base + "/")
    cards = page.locator("label.pick")
    assert cards.count() == len(PAPERS)  # fewer papers than a dozen: each is offered
    titles = [cards.nth(i).locator(".pick-title").inner_text() for i in range(len(PAPERS))]
    assert sorted(titles) == sorted(p.title for p in PAPERS)
    fits(page, 390)
    for i in range(len(PAPERS)):  # a card is at least as wide as it is readable on a phone
        assert cards.nth(i).bounding_box()["width"] >= 300

    page.fill("#email", "lin@example.org")
    page.focus("#email")
    for _ in range(60):  # the first card is reached with Tab alone
        if page.evaluate("document.activeElement.id") == "pick-0":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "pick-0"
    page.keyboard.press("Space")
    assert page.is_checked("#pick-0")
    cards.nth(1).locator(".pick-title").click()  # a click anywhere on the card ticks it
    assert page.is_checked("#pick-1")
    assert page.input_value("#topics") == ""
    picked = {page.get_attribute(f"#pick-{i}", "value") for i in (0, 1)}
    page.click("button[type=submit]")
    page.wait_for_selector("text=Check your inbox")

    deadline = time.monotonic() + 10  # the confirmation goes out from a background sender
    while not mail.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    link = re.search(r"http://127\.0\.0\.1:\d+/confirm\?token=\S+", mail.body(0, "plain"))
    assert link
    page.goto(link.group(0))
    page.click("text=Confirm my subscription")
    page.wait_for_selector("text=You are subscribed")
    by_line = {f"{p.title} (arXiv:{p.arxiv_id})": p.arxiv_id for p in PAPERS}
    first = {by_line[v] for v in picked if v}
    assert len(first) == 2 and liked_ids(engine, "lin@example.org") == first
    phone.close()

    desk = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = desk.new_page()
    page.goto(signed_links.preferences_url(base, SECRET, addresses.key("lin@example.org"),
                                           now=datetime.now(UTC)))
    page.wait_for_selector("text=Your preferences")
    fits(page, 1280)
    cards = page.locator("label.pick")
    assert cards.count() == len(PAPERS)
    boxes = [cards.nth(i).bounding_box() for i in range(len(PAPERS))]
    assert len({round(b["y"]) for b in boxes}) < len(boxes)  # side by side on a wide screen
    rest = next(i for i in range(len(PAPERS))
                if by_line[page.get_attribute(f"#pick-{i}", "value")] not in first)
    page.check(f"#pick-{rest}")
    page.click("text=Save")
    page.wait_for_selector("text=Preferences saved")
    assert liked_ids(engine, "lin@example.org") == {p.arxiv_id for p in PAPERS}
    desk.close()
