"""Channel rows through the outbox: Retry-After kept, a gone webhook suppresses its channel
(one line in ``status``, lifted by a working ``send --test``), a repeat is harmless where the
platform supports it (the same Matrix transaction id, the same webhook idempotency key), and
the webhook's signature is what docs/channels.md tells a receiver to check."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from newsletter.app.status import outbox_status
from newsletter.delivery.channels.sender import GONE_NOTE, part_key
from newsletter.delivery.channels.signing import signature, verify
from newsletter.store import open_engine
from newsletter.store import outbox as store
from tests.channels.conftest import write_project
from tests.channels.fakes import Platform, channel_config, platforms
from tests.channels.test_run_channels import invoke
from tests.delivery.http_fake import Reply
from tests.delivery.smtp_sink import Sink


class Project:
    def __init__(self, folder: Path, config: Path, env: dict[str, str],
                 fakes: dict[str, Platform]) -> None:
        self.folder, self.config, self.env, self.fakes = folder, config, env, fakes
        self.engine = open_engine(f"sqlite:///{folder / 'news.db'}")

    def run(self, *args: str) -> tuple[int, str]:
        return invoke(self.config, self.env, *args)

    def row(self, name: str) -> dict[str, object]:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(store.outbox).where(
                store.outbox.c.recipient == f"{name}@channels.invalid")).mappings().one()
        return dict(found)


@pytest.fixture
def project(tmp_path: Path, seeds_dir: Path) -> Iterator[Project]:
    seeds = sorted(str(p) for p in seeds_dir.glob("*.txt"))
    with Sink() as sink, platforms() as fakes:
        tables, env = channel_config(fakes)
        config = write_project(tmp_path, seeds, sink.port, tables, max_papers=5)
        made = Project(tmp_path, config, env, fakes)
        code, out = made.run("run", "--no-send")
        assert code == 0, out
        yield made
        made.engine.dispose()


def test_a_long_retry_after_goes_back_to_the_outbox_for_at_least_that_long(
        project: Project) -> None:
    project.fakes["slack"].faults.append(Reply(429, {"ok": False},
                                               {"Retry-After": "600"}))
    code, out = project.run("send")
    assert code == 0, out
    row = project.row("lab-slack")
    assert row["status"] == "retrying" and "HTTP 429" in str(row["last_error"])
    waited = row["next_attempt_at"] - row["updated_at"]  # type: ignore[operator]
    assert waited >= timedelta(seconds=599), waited  # the backoff alone would be ~1 minute
    assert len(project.fakes["slack"].posts) == 0
    assert project.row("lab-discord")["status"] == "sent"  # one channel waits, not the rest


def test_a_short_retry_after_is_waited_for_within_the_send(project: Project) -> None:
    project.fakes["telegram"].faults.append(Reply(503, {"ok": False}, {"Retry-After": "0"}))
    code, out = project.run("send")
    assert code == 0, out
    assert project.row("lab-telegram")["status"] == "sent"
    assert project.fakes["telegram"].posts


def test_a_gone_webhook_suppresses_the_channel_with_one_line_in_status(
        project: Project) -> None:
    project.fakes["discord"].faults.append(Reply(404, {"message": "Unknown Webhook",
                                                       "code": 10015}))
    code, out = project.run("send")
    assert code == 1
    row = project.row("lab-discord")
    assert row["status"] == "failed"
    error = str(row["last_error"])
    assert error.startswith("discord channel 'lab-discord': part 1 of "), error
    assert error.endswith(": HTTP 404 Not Found (gone: the channel is suppressed)"), error
    assert "discord-secret" not in out  # the webhook URL is a secret
    code, out = project.run("status")
    assert "gone (suppressed)" in out, out
    today = outbox_status(project.engine, datetime.now(UTC)).today
    said = [state for email, _, state in today if email == "lab-discord@channels.invalid"]
    assert said == [f"gone (suppressed): {error.removesuffix(GONE_NOTE)}; fix "
                    "channels.lab-discord, then `newsletter send --test lab-discord` resumes it"]
    code, out = project.run("send", "--test", "lab-discord")
    assert code == 0, out
    assert "it was suppressed, and is resumed" in out
    with project.engine.connect() as conn:
        assert store.suppressed(conn, ["lab-discord@channels.invalid"]) == {}


def test_a_matrix_repeat_carries_the_same_transaction_id(project: Project) -> None:
    """A 502 after the homeserver stored the event: the retry sends the same txn id, and the
    room holds the message once."""
    fake = project.fakes["matrix"]
    original = fake.check

    def store_then_fail(p: Platform, request: object) -> Reply:
        original(p, request)  # type: ignore[arg-type]
        if len(p.keys) == 1:
            return Reply(502)
        return original(p, request)  # type: ignore[arg-type]

    fake.check = store_then_fail
    code, out = project.run("send")
    assert code == 0, out
    row = project.row("lab-matrix")
    assert row["status"] == "sent"
    key = fake.keys[0]
    assert key.startswith(part_key(str(row["message_id"]), 1) + "."), key
    assert fake.keys[:2] == [key, key], fake.keys
    assert len(fake.posts) == len(set(fake.keys)), "the room shows each part once"


def test_the_webhook_signature_verifies_only_within_the_replay_window() -> None:
    body = b'{"type":"newsletter.issue"}'
    now = int(time.time())
    headers = {"newsletter-timestamp": str(now),
               "newsletter-signature": signature("s3cret", now, body)}
    assert verify("s3cret", headers, body, now)
    assert not verify("other", headers, body, now)
    assert not verify("s3cret", headers, body + b" ", now)
    assert not verify("s3cret", headers, body, now + 301)  # a replay after five minutes


@pytest.mark.slow
def test_a_retry_goes_on_from_the_part_that_failed(project: Project) -> None:
    """Part 2 of a Telegram issue fails (5xx, three tries): the retry posts parts 2... only,
    so the chat shows each part once."""
    fake = project.fakes["telegram"]
    original, tries = fake.check, []

    def second_part_fails(p: Platform, request: object) -> Reply:
        tries.append(1)
        if 2 <= len(tries) <= 4:
            return Reply(500, {"ok": False, "error_code": 500})
        return original(p, request)  # type: ignore[arg-type]

    fake.check = second_part_fails
    code, out = project.run("send")
    row = project.row("lab-telegram")
    assert row["status"] == "retrying" and str(row["provider_id"]).startswith("parts:1:"), row
    assert len(fake.posts) == 1
    with project.engine.begin() as conn:  # its time has come
        conn.execute(sa.update(store.outbox).where(store.outbox.c.id == row["id"]).values(
            next_attempt_at=row["updated_at"]))
    code, out = project.run("send")
    assert code == 0, out
    assert project.row("lab-telegram")["status"] == "sent"
    heads = [p["text"].split("\n")[0] for p in fake.posts]
    parts = len(heads)
    first = heads[0].removesuffix(f" (1/{parts})</b>")
    assert parts > 1 and first.startswith("<b>Papers for Lab telegram &lt;&amp;&gt; ")
    assert heads == [f"{first} ({n}/{parts})</b>" for n in range(1, parts + 1)], heads
