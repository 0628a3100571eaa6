"""Every field of the sign-up and preferences forms, given hostile values, on SQLite and
PostgreSQL: a page with the right 4xx, never a 500, and nothing half-stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter.app.accounts import Site
from newsletter.config import Secrets, config_from_dict
from newsletter.delivery.base import MailerEnv, NoOptions
from newsletter.delivery.memory import MemoryMailer
from newsletter.store import open_engine
from newsletter.store.tables import pending_signups, subscribers
from newsletter.web.app import create_app

from .conftest import NOW, SECRET, Clock, csrf_of, form

HOSTILE = [
    "x" * 400 + "@example.org",
    "a\x00b@example.org",
    "\ud800",
    "\x00",
    "é" * 5000,
    "<script>alert(1)</script>",
    "'; DROP TABLE subscribers; --",
    "\r\nBcc: victim@example.org",
    "1e309",
    "-5",
    "99999999999999999999",
    "\u202etxt.exe",
]
FIELDS = ["email", "name", "topics", "exclude", "authors", "library", "timezone", "send_at",
          "frequency", "weekday", "max_papers"]


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Engine]]:
    data = {
        "newsletter": {"sender": "Paper Digest <digest@news.example.org>",
                       "base_url": "http://testserver", "database_url": database_url},
        "match": {"semantic": False},
        "web": {"signups_per_client_hour": 10_000, "signups_per_address_day": 1000},
    }
    config = config_from_dict(data, tmp_path, "newsletter.toml", {"NEWSLETTER_SECRET_KEY": SECRET})
    engine = open_engine(config.database_url)
    mailer = MemoryMailer("mem", NoOptions(), MailerEnv(Secrets({}), tmp_path))
    site = Site(config, engine, lambda: mailer, clock=Clock(NOW), send_inline=True)
    with TestClient(create_app(site), follow_redirects=False) as c:
        yield c, engine
    engine.dispose()


@pytest.mark.slow
def test_hostile_values_in_every_field_are_answered_never_500(
    client: tuple[TestClient, Engine],
) -> None:
    web, engine = client
    token = csrf_of(web.get("/").text)
    for field in FIELDS:
        for value in HOSTILE:
            body = form(csrf=token, **{field: value}).items()
            page = web.post(
                "/subscribe",
                content="&".join(f"{k}={_quote(v)}" for k, v in body),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert page.status_code in (200, 400, 413), (field, value, page.status_code)
            assert "Traceback" not in page.text
    with engine.connect() as conn:
        emails = conn.execute(sa.select(pending_signups.c.email)).scalars().all()
        assert conn.execute(sa.select(sa.func.count()).select_from(subscribers)).scalar() == 0
    assert all(len(e) <= 254 and "\x00" not in e for e in emails)


def _quote(value: str) -> str:
    """Percent-encode as a browser would; a lone surrogate goes as its raw (invalid) bytes."""
    from urllib.parse import quote

    return quote(value.encode("utf-8", "surrogatepass"), safe="")
