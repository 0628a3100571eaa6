"""HTTP providers against a loopback server that checks each request as the provider documents it
and answers with the provider's success and error bodies (including 429 and 5xx)."""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsletter.config import DeliverySettings, MailerSettings, Secrets
from newsletter.delivery.base import BACKENDS, Mailer, MailerEnv, create_mailer
from newsletter.delivery.message import list_headers
from newsletter.delivery.outbox import send_due
from newsletter.errors import ConfigError
from newsletter.models import OutgoingEmail
from newsletter.store import outbox as store

from .conftest import NOW, sample
from .http_fake import FakeApi, Reply, Request

KEY = "sk-test-9f8e7d6c5b4a"
BAD = "reader3@example.com"
SETTINGS = DeliverySettings(retry_base=60, retry_max=600, max_attempts=5, batch_size=50)


class Provider:
    """The common half of a fake provider: scripted faults, refused addresses, deliveries."""

    def __init__(self) -> None:
        self.faults: list[int] = []
        self.delivered: Counter[str] = Counter()

    def fault(self) -> int | None:
        return self.faults.pop(0) if self.faults else None

    def deliver(self, to: str) -> bool:
        bare = parseaddr(to)[1]
        if bare == BAD:
            return False
        self.delivered[bare] += 1
        return True


class Postmark(Provider):
    backend, options = "postmark", {}

    def __call__(self, req: Request) -> Reply:
        assert req.path == "/email/batch"
        assert req.headers["x-postmark-server-token"] == KEY
        assert req.headers["accept"] == "application/json"
        code = self.fault()
        if code:
            return Reply(code, {"ErrorCode": code, "Message": "Please slow down / try later."})
        messages = req.json()
        assert isinstance(messages, list) and 1 <= len(messages) <= 500
        return Reply(200, [self._one(m) for m in messages])

    def _one(self, m: dict[str, Any]) -> dict[str, Any]:
        assert {"From", "To", "Subject", "TextBody", "HtmlBody", "MessageStream"} <= m.keys()
        assert m["MessageStream"] == "broadcast" and m["ReplyTo"] == "editors@news.example.org"
        names = {h["Name"] for h in m["Headers"]}
        assert {"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"} <= names
        if not self.deliver(m["To"]):
            return {"ErrorCode": 406, "Message": "Recipient is marked inactive.", "To": m["To"]}
        return {"ErrorCode": 0, "Message": "OK", "MessageID": str(uuid.uuid4()), "To": m["To"],
                "SubmittedAt": "2026-01-05T07:00:00.0000000Z"}


class SendGrid(Provider):
    backend, options = "sendgrid", {}

    def __call__(self, req: Request) -> Reply:
        assert req.path == "/v3/mail/send"
        assert req.headers["authorization"] == f"Bearer {KEY}"
        code = self.fault()
        if code:
            return Reply(code, {"errors": [{"field": None, "message": "too many requests"}]})
        body = req.json()
        (person,) = body["personalizations"]
        (to,) = person["to"]
        assert body["from"] == {"email": "digest@news.example.org", "name": "Paper Digest"}
        assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
        assert body["reply_to"] == {"email": "editors@news.example.org"}
        assert "List-Unsubscribe" in body["headers"] and body["subject"]
        if not self.deliver(to["email"]):
            return Reply(400, {"errors": [{"message": "Does not contain a valid address.",
                                           "field": "personalizations.0.to.0.email"}]})
        return Reply(202, None, {"X-Message-Id": uuid.uuid4().hex})


class Mailgun(Provider):
    backend, options = "mailgun", {"domain": "mg.example.org"}

    def __call__(self, req: Request) -> Reply:
        assert req.path == "/v3/mg.example.org/messages"
        auth = base64.b64encode(f"api:{KEY}".encode()).decode()
        assert req.headers["authorization"] == f"Basic {auth}"
        code = self.fault()
        if code:
            return Reply(code, {"message": "Too many requests"})
        form = req.form()
        assert {"from", "to", "subject", "text", "html"} <= form.keys()
        assert form["h:Reply-To"] == "editors@news.example.org"
        assert form["h:List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        if not self.deliver(form["to"]):
            return Reply(400, {"message": "'to' parameter is not a valid address"})
        return Reply(200, {"id": f"<{uuid.uuid4().hex}@mg.example.org>",
                           "message": "Queued. Thank you."})


class Resend(Provider):
    backend, options = "resend", {}

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    def __call__(self, req: Request) -> Reply:
        assert req.path == "/emails/batch"
        assert req.headers["authorization"] == f"Bearer {KEY}"
        self.keys.append(req.headers["idempotency-key"])
        code = self.fault()
        if code:
            name = "rate_limit_exceeded" if code == 429 else "internal_server_error"
            return Reply(code, {"statusCode": code, "message": "Try again later.", "name": name})
        emails = req.json()
        assert isinstance(emails, list) and 1 <= len(emails) <= 100
        for e in emails:
            assert {"from", "to", "subject", "html", "text", "headers"} <= e.keys()
            assert e["reply_to"] == "editors@news.example.org"
        if any(parseaddr(e["to"][0])[1] == BAD for e in emails):  # strict: all or nothing
            return Reply(422, {"statusCode": 422, "name": "validation_error",
                               "message": "Invalid `to` field."})
        for e in emails:
            self.deliver(e["to"][0])
        return Reply(200, {"data": [{"id": str(uuid.uuid4())} for _ in emails]})


PROVIDERS: list[Callable[[], Provider]] = [Postmark, SendGrid, Mailgun, Resend]


def provider_mailer(fake: Any, api: FakeApi, key: str = KEY, **extra: Any) -> Mailer:
    options = {"base_url": api.url, "timeout": 5.0} | fake.options | extra
    secrets = Secrets({"NEWSLETTER_MAILER_API_PROVIDER_API_KEY": key} if key else {})
    return create_mailer("api-provider", MailerSettings(fake.backend, options),
                         MailerEnv(secrets, Path(".")))


def with_list_headers(i: int) -> OutgoingEmail:
    e = sample(i)
    headers = list_headers(list_id_value="<digest.news.example.org>",
                           unsubscribe_url=f"https://news.example.org/unsubscribe?token=t{i}",
                           reply_to="editors@news.example.org")
    return OutgoingEmail(e.message_id, e.sender, e.to, e.subject, e.text, e.html, headers)


def drain(engine: Engine, make: Callable[[], Mailer]) -> list[int]:
    """Send until nothing is due, moving the clock past each backoff; the retry counts."""
    retries, moment = [], NOW
    for _ in range(8):
        report = send_due(engine, make(), SETTINGS, now=moment)
        if not report.handled:
            break
        retries.append(report.retrying)
        moment += timedelta(hours=1)
    return retries


@pytest.mark.parametrize("make_fake", PROVIDERS, ids=lambda p: p.__name__)
@pytest.mark.parametrize("fault", [429, 500, 503])
def test_provider_delivers_once_retries_busy_and_fails_bad_recipient(
    engine: Engine, make_fake: Callable[[], Provider], fault: int
) -> None:
    fake = make_fake()
    fake.faults = [fault, fault]
    with engine.begin() as conn:
        for i in range(6):
            store.enqueue(conn, with_list_headers(i), issue_id="2026-01-05", now=NOW)
    with FakeApi(fake) as api:
        retries = drain(engine, lambda: provider_mailer(fake, api))
    assert retries[0] >= 1, "the provider's busy answer must lead to a retry"
    expected = {f"reader{i}@example.com": 1 for i in range(6)} | {BAD: 0}
    assert dict(fake.delivered) == {k: v for k, v in expected.items() if v}
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(store.outbox.c.recipient, store.outbox.c.status)).all())
        errors = conn.execute(sa.select(store.outbox.c.last_error).where(
            store.outbox.c.recipient == BAD)).scalar_one()
    assert rows.pop(BAD) == "failed" and set(rows.values()) == {"sent"}
    assert errors.startswith(type(fake).__name__) and KEY not in errors


@pytest.mark.parametrize("make_fake", PROVIDERS, ids=lambda p: p.__name__)
def test_request_checks_pass_and_provider_ids_are_kept(
    engine: Engine, make_fake: Callable[[], Provider]
) -> None:
    fake = make_fake()
    with FakeApi(fake) as api:
        mailer = provider_mailer(fake, api)
        with mailer:
            results = mailer.send_messages([with_list_headers(0), with_list_headers(1)])
        assert all(r.status == "sent" and r.provider_id for r in results), results
        assert len(api.requests) in (1, 2)


@pytest.mark.parametrize("make_fake", PROVIDERS, ids=lambda p: p.__name__)
def test_missing_key_is_a_config_error_and_unreachable_is_transient(
    make_fake: Callable[[], Provider],
) -> None:
    fake = make_fake()
    with FakeApi(fake) as api:
        with pytest.raises(ConfigError, match="NEWSLETTER_MAILER_API_PROVIDER_API_KEY"):
            provider_mailer(fake, api, key="").open()
        gone = api.url  # nothing listens there once the server is closed
    options = {"base_url": gone, "timeout": 2.0} | fake.options
    secrets = Secrets({"NEWSLETTER_MAILER_X_API_KEY": KEY})
    env = MailerEnv(secrets, Path("."))
    mailer = create_mailer("x", MailerSettings(fake.backend, options), env)
    with mailer:
        (result,) = mailer.send_messages([with_list_headers(0)])
    assert result.status == "transient" and "unreachable" in result.detail


def test_postmark_inactive_recipient_is_a_hard_bounce(engine: Engine) -> None:
    fake = Postmark()
    with engine.begin() as conn:
        store.enqueue(conn, with_list_headers(3), issue_id="2026-01-05", now=NOW)
    with FakeApi(fake) as api:
        report = send_due(engine, provider_mailer(fake, api), SETTINGS, now=NOW)
    assert report.bounced == 1
    with engine.connect() as conn:
        assert store.suppressed(conn, [BAD]) == {BAD: "bounced"}


def test_resend_idempotency_key_is_stable_for_a_resent_batch() -> None:
    fake = Resend()
    fake.faults = [500]
    batch = [with_list_headers(i) for i in (0, 1)]
    with FakeApi(fake) as api, provider_mailer(fake, api) as mailer:
        first = mailer.send_messages(batch)
        second = mailer.send_messages(batch)
    assert [r.status for r in first] == ["transient"] * 2
    assert [r.status for r in second] == ["sent"] * 2
    assert fake.keys[0] == fake.keys[1] and len(fake.keys[0]) <= 256


def test_api_key_never_reaches_logs_or_repr(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = SendGrid()
    fake.faults = [401]
    with FakeApi(fake) as api, provider_mailer(fake, api) as mailer:
        (result,) = mailer.send_messages([with_list_headers(0)])
        text = repr(mailer) + repr(mailer.options) + result.detail + caplog.text
    assert result.status == "transient" and "HTTP 401" in result.detail
    assert KEY not in text


def messages_in(req: Request) -> int:
    """How many messages one request to a fake provider carried."""
    if req.headers["content-type"].startswith("application/json"):
        body = req.json()
        return len(body) if isinstance(body, list) else 1
    return 1


@pytest.mark.parametrize("make_fake", PROVIDERS, ids=lambda p: p.__name__)
def test_max_rate_paces_every_provider(engine: Engine, make_fake: Callable[[], Provider]) -> None:
    rate, count = 5.0, 7
    fake = make_fake()
    with engine.begin() as conn:
        for i in range(10, 10 + count):
            store.enqueue(conn, with_list_headers(i), issue_id="2026-01-05", now=NOW)
    with FakeApi(fake) as api:
        started = time.monotonic()
        report = send_due(engine, provider_mailer(fake, api, max_rate=rate), SETTINGS, now=NOW)
    assert report.sent == count
    sizes = [messages_in(r) for r in api.requests]
    assert sum(sizes) == count and max(sizes) <= rate  # a request: a second's worth at most
    # The n-th message goes no sooner than its turn, (n - 1) / rate after the start.
    through = 0
    for req, size in zip(api.requests, sizes, strict=True):
        through += size
        assert req.received - started >= (through - 1) / rate - 0.01


def test_max_rate_is_an_option_of_every_backend_and_bounded(tmp_path: Path) -> None:
    env = MailerEnv(Secrets({}), tmp_path)
    for backend in BACKENDS:
        options = {"max_rate": 2} | ({"domain": "mg.example.org"} if backend == "mailgun" else {})
        assert create_mailer("m", MailerSettings(backend, options), env).options.max_rate == 2.0
    with pytest.raises(ConfigError, match=r"key 'mailers\.m\.max_rate' must be from 0 to"):
        create_mailer("m", MailerSettings("postmark", {"max_rate": -1}), env)
    with pytest.raises(ConfigError, match=r"key 'mailers\.m\.max_rate' must be a number"):
        create_mailer("m", MailerSettings("console", {"max_rate": "fast"}), env)


def addressed(i: int, to: str) -> OutgoingEmail:
    e = with_list_headers(i)
    return OutgoingEmail(e.message_id, e.sender, to, e.subject, e.text, e.html, e.headers)


@pytest.mark.parametrize("make_fake", PROVIDERS, ids=lambda p: p.__name__)
def test_international_addresses_go_in_punycode_or_fail_alone(
    engine: Engine, make_fake: Callable[[], Provider]
) -> None:
    """An IDN domain travels in IDNA; a non-ASCII local part, which no API takes, fails that
    message alone in one line naming it, and the rest of the batch is sent."""
    fake = make_fake()
    to = ["ok@example.org", "Jo <j@bücher.de>", "jö@example.org", "ok2@example.org"]
    with engine.begin() as conn:
        for i, address in enumerate(to):
            store.enqueue(conn, addressed(i, address), issue_id="2026-01-05", now=NOW)
    with FakeApi(fake) as api:
        report = send_due(engine, provider_mailer(fake, api), SETTINGS, now=NOW)
    assert dict(fake.delivered) == {"ok@example.org": 1, "j@xn--bcher-kva.de": 1,
                                    "ok2@example.org": 1}
    assert report.handled == 4 and report.retrying == 0
    with engine.connect() as conn:
        rows = {r.recipient: (r.status, r.last_error) for r in conn.execute(
            sa.select(store.outbox.c.recipient, store.outbox.c.status, store.outbox.c.last_error))}
    status, error = rows.pop("jö@example.org")
    assert status == "failed" and "jö@example.org" in error and "\n" not in error
    assert {s for s, _ in rows.values()} == {"sent"}
