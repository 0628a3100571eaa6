"""A channel issue retried after some of its parts were posted, when the issue renders into
different parts on the retry (a summary gained, ``abstract_chars`` changed): the retry posts
again from part 1, so every paper arrives, and the row is never marked sent with nothing
posted. Posted through the Telegram fake on loopback, which checks each part."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from newsletter.app.channels import as_message
from newsletter.config import ChannelSettings, Secrets
from newsletter.delivery.base import MailerEnv
from newsletter.delivery.channels.sender import ChannelMailer, parts_digest, resume_from
from newsletter.models import Issue, OutgoingEmail, Paper, Pick, SendResult, Subscriber
from newsletter.render.channels import Rendered, render_channel
from newsletter.store.outbox import OutboxRow
from tests.channels.fakes import BOT, CHECKS, Platform
from tests.delivery.http_fake import FakeApi, Reply, Request

ADDRESS = "lab-telegram@channels.invalid"
TITLES = [f"Paper {i} on robotics" for i in range(12)]


@pytest.fixture
def fake() -> Iterator[Platform]:
    platform = Platform("telegram", CHECKS["telegram"])
    with FakeApi(platform.respond) as api:
        platform.api = api
        yield platform


def mailer(fake: Platform, tmp_path: Path) -> ChannelMailer:
    settings = ChannelSettings("telegram", chat_id="-1001234", token_env="T",
                               api_base=fake.url, retries=0, part_gap=0)
    return ChannelMailer({"lab-telegram": settings},
                         MailerEnv(Secrets({"T": BOT}, ("T",)), tmp_path),
                         sleep=lambda _: None)


def rendered(abstract_chars: int) -> Rendered:
    """Twelve papers with 1,500-character abstracts: several parts with their summaries,
    one part without."""
    sub = Subscriber(email=ADDRESS, topics=("robotics",), name="Lab")
    abstract = " ".join(["A sentence about robots that goes on for a while."] * 30)
    picks = tuple(Pick(Paper(title=t, abstract=abstract, arxiv_id=f"2501.{30000 + i}"), 0.9,
                       ("title matches 'robotics'",)) for i, t in enumerate(TITLES))
    return render_channel("telegram", Issue(sub, date(2026, 6, 1), picks), abstract_chars,
                          "-1001234")


def second_part_fails(fake: Platform) -> None:
    original, calls = fake.check, []

    def check(p: Platform, request: Request) -> Reply:
        calls.append(1)
        return Reply(500, {"ok": False, "error_code": 500}) if len(calls) == 2 else original(
            p, request)

    fake.check = check


def send(box: ChannelMailer, message: OutgoingEmail) -> SendResult:
    return box.send_messages([message])[0]


@pytest.mark.parametrize(("before", "after"), [(1500, 0), (400, 1500)])
def test_a_retry_that_renders_other_parts_posts_every_paper(
        fake: Platform, tmp_path: Path, before: int, after: int) -> None:
    first, second = rendered(before), rendered(after)
    assert len(first.parts) > 1 and len(first.parts) != len(second.parts)
    second_part_fails(fake)
    envelope = OutgoingEmail("<row@x>", "d@x", ADDRESS, "", "", "")
    row = OutboxRow(1, ADDRESS, "2026-06-01", 1, envelope)
    with mailer(fake, tmp_path) as box:
        result = send(box, as_message(row, first))
        assert result.status == "transient", result
        assert result.provider_id == f"parts:1:{parts_digest(first.encoded())}"
        assert len(fake.posts) == 1
        retried = send(box, as_message(replace(row, provider_id=result.provider_id), second))
    assert retried.status == "sent", retried
    assert len(fake.posts) == 1 + len(second.parts), "the retry posted every part again"
    seen = "\n".join(fake.seen)
    missing = [t for t in TITLES if t not in seen]
    assert not missing, f"lost on the retry: {missing}"


def test_the_same_rendering_goes_on_from_the_next_part(fake: Platform, tmp_path: Path) -> None:
    issue = rendered(1500)
    second_part_fails(fake)
    envelope = OutgoingEmail("<row@x>", "d@x", ADDRESS, "", "", "")
    row = OutboxRow(1, ADDRESS, "2026-06-01", 1, envelope)
    with mailer(fake, tmp_path) as box:
        result = send(box, as_message(row, issue))
        retried = send(box, as_message(replace(row, provider_id=result.provider_id), issue))
    assert retried.status == "sent", retried
    assert len(fake.posts) == len(issue.parts), "each part once"


def test_progress_without_a_digest_or_past_the_end_posts_from_part_1() -> None:
    parts = rendered(1500).encoded()
    digest = parts_digest(parts)
    assert resume_from(f"1:{digest}", parts) == 1
    assert resume_from("1", parts) == 0, "the old parts:N form: the rendering is unknown"
    assert resume_from(f"1:{parts_digest(parts[1:])}", parts) == 0
    assert resume_from("", parts) == 0
