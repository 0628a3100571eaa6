"""Every way a model server fails becomes one ``Failure`` per request, never an exception:
no server, 429 with Retry-After, 5xx, replies that do not fit, 50 MB, a hung connection."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

from newsletter.llm.client import DOWN_AFTER, ChatClient, Failure, UseReport
from newsletter.llm.contract import read_paper_fields
from tests.llm.conftest import FIELDS, Waits, synthetic
from tests.llm_fake import LlmFake


def test_a_server_that_is_down_fails_after_the_retries(waits: Waits) -> None:
    (request,) = synthetic(1)
    with LlmFake(down=True) as fake, ChatClient(fake.settings(retries=2), sleep=waits) as client:
        found = client.ask([request], read_paper_fields)
    reason = "connection failed: ConnectError (gave up after 3 tries)"
    assert found == {request.key: Failure(reason)}
    assert len(waits) == 2 and 1 <= waits[0] <= 1.5 and 2 <= waits[1] <= 3  # backoff, jitter
    assert client.report("paper_fields") == UseReport(1, 0, 1, 0, 0)


def test_429_waits_as_long_as_retry_after_says_then_answers(fake: LlmFake, waits: Waits) -> None:
    fake.status, fake.retry_after, fake.failures = 429, "7", 1
    (request,) = synthetic(1)
    with ChatClient(fake.settings(), sleep=waits) as client:
        found = client.ask([request], read_paper_fields)
    assert found[request.key] == read_paper_fields(json.dumps(FIELDS))
    assert waits == [7.0]
    assert fake.counts == {"paper_fields": 2}


def test_a_retry_after_beyond_the_setting_gives_up_at_once(fake: LlmFake, waits: Waits) -> None:
    fake.status, fake.retry_after = 429, "120"
    (request,) = synthetic(1)
    with ChatClient(fake.settings(max_retry_after=30), sleep=waits) as client:
        found = client.ask([request], read_paper_fields)
    assert found == {request.key: Failure("server asks to retry after 120 s; giving up")}
    assert waits == [] and fake.counts == {"paper_fields": 1}


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_then_given_up(
    fake: LlmFake, waits: Waits, status: int
) -> None:
    fake.status = status
    (request,) = synthetic(1)
    with ChatClient(fake.settings(retries=2), sleep=waits) as client:
        found = client.ask([request], read_paper_fields)
    assert found == {request.key: Failure(f"HTTP {status} (gave up after 3 tries)")}
    assert fake.counts == {"paper_fields": 3} and len(waits) == 2


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("off_schema", "'fields' is not a list of strings"),
        ("garbage", "the reply is not JSON"),
        ("not_chat", "the server's answer is not a chat completion"),
    ],
)
def test_a_reply_that_does_not_fit_is_a_failure_not_retried(
    fake: LlmFake, mode: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake.mode = mode  # type: ignore[assignment]
    fake.tokens = 50
    requests = synthetic(3)
    with ChatClient(fake.settings()) as client:
        found = client.ask(requests, read_paper_fields)
    assert set(found.values()) == {Failure(reason)}
    assert fake.counts == {"paper_fields": 3}
    tokens = 0 if mode == "not_chat" else 150  # what the server says the replies used counts
    assert client.report("paper_fields") == UseReport(3, 0, 3, 0, tokens)
    assert caplog.messages == [f"llm paper_fields: {reason}"] * 3


def test_a_50_mb_reply_is_refused_at_the_cap_quickly_in_bounded_memory(fake: LlmFake) -> None:
    fake.mode = "huge"
    (request,) = synthetic(1)
    tracemalloc.start()
    try:
        started = time.monotonic()
        with ChatClient(fake.settings(max_bytes=1_000_000)) as client:
            found = client.ask([request], read_paper_fields)
        took = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == {request.key: Failure("response exceeds llm.max_bytes 1000000")}
    assert fake.counts == {"paper_fields": 1}  # a body too large is not asked again
    assert took < 5  # it stops at the first megabyte; reading 50 MB would show
    assert peak < 10_000_000


def test_a_hung_connection_is_given_up_at_each_try_timeout(fake: LlmFake, waits: Waits) -> None:
    fake.mode = "hang"
    (request,) = synthetic(1)
    started = time.monotonic()
    with ChatClient(fake.settings(timeout=0.5, retries=1), sleep=waits) as client:
        found = client.ask([request], read_paper_fields)
    assert time.monotonic() - started < 3
    assert found == {request.key: Failure("timed out after 0.5 s (gave up after 2 tries)")}
    assert fake.counts == {"paper_fields": 2} and len(waits) == 1


def test_a_model_that_keeps_failing_stops_the_run_asking(fake: LlmFake, waits: Waits) -> None:
    fake.status = 503
    requests = synthetic(60)
    with ChatClient(fake.settings(retries=0, concurrency=2), sleep=waits) as client:
        found = client.ask(requests, read_paper_fields)
    sent = fake.counts["paper_fields"]
    assert DOWN_AFTER <= sent <= DOWN_AFTER + 2  # then no more (2 may have been in flight)
    skipped = [f for f in found.values() if isinstance(f, Failure) and f.skipped]
    assert len(skipped) == 60 - sent
    assert "the model is not answering (5 requests in a row failed, the last: HTTP 503" in (
        skipped[0].reason)


def test_an_answer_between_failures_keeps_the_run_asking(fake: LlmFake, waits: Waits) -> None:
    fake.status, fake.failures = 503, DOWN_AFTER - 1  # four fail, then the server answers
    requests = synthetic(20)
    with ChatClient(fake.settings(retries=0, concurrency=1), sleep=waits) as client:
        found = client.ask(requests, read_paper_fields)
    assert fake.counts["paper_fields"] == 20
    assert sum(not isinstance(f, Failure) for f in found.values()) == 20 - (DOWN_AFTER - 1)
