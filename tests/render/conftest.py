"""Fixtures for the render tests: a renderer, an issue renderer, headless chromium, spamassassin."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from newsletter.config import EmailSettings
from newsletter.models import Paper
from newsletter.render import Renderer

from .render_samples import NEWSLETTER, make_issue, make_links

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


@pytest.fixture
def renderer() -> Renderer:
    return Renderer(NEWSLETTER, EmailSettings(), None)


@pytest.fixture
def render_issue(renderer: Renderer) -> Callable[..., Any]:
    def run(n: int = 3, extra: tuple[Paper, ...] = ()) -> Any:
        issue = make_issue(n, extra)
        return renderer.render(issue, make_links(issue))

    return run


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def spamassassin() -> str:
    path = shutil.which("spamassassin")
    if path is None:
        pytest.skip("spamassassin is not installed (apt-get install spamassassin)")
    return path
