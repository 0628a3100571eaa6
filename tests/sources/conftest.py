"""Fixtures for the source tests: a scripted HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .http_site import Site, serve


@pytest.fixture
def site() -> Iterator[Site]:
    """A live HTTP server on a free loopback port, stopped after the test."""
    with serve() as live:
        yield live
