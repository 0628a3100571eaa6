"""A run's budget: what it cannot afford is skipped and never sent, and no request outlives
the run's deadline; each use's report adds up."""

from __future__ import annotations

import time

import pytest

from newsletter.llm.budget import Budget
from newsletter.llm.client import ChatClient, Failure, UseReport
from newsletter.llm.contract import Request, read_paper_fields, read_profile_phrases
from tests.llm.conftest import Waits, synthetic
from tests.llm_fake import LlmFake

LOTS = 10**9


def test_the_request_budget_spent_mid_run_skips_the_rest_unsent(
    fake: LlmFake, caplog: pytest.LogCaptureFixture
) -> None:
    requests = synthetic(12)
    budget = Budget(5, LOTS, 600)
    with ChatClient(fake.settings(concurrency=4), budget=budget) as client:
        found = client.ask(requests, read_paper_fields)
    assert fake.counts == {"paper_fields": 5}
    skipped = [v for v in found.values() if isinstance(v, Failure)]
    assert skipped == [Failure("skipped: request budget spent (llm.max_requests 5)")] * 7
    assert client.report("paper_fields") == UseReport(12, 5, 0, 7, client.budget.tokens)
    assert caplog.messages == [
        "llm paper_fields: 7 of 12 requests skipped: request budget spent (llm.max_requests 5)"
    ]


def test_the_token_budget_counts_what_the_server_says_it_used(fake: LlmFake) -> None:
    fake.tokens = 100
    budget = Budget(LOTS, 250, 600)
    with ChatClient(fake.settings(concurrency=1), budget=budget) as client:
        found = client.ask(synthetic(6), read_paper_fields)
    assert fake.counts == {"paper_fields": 3}  # 0, 100 and 200 tokens spent when sent
    assert budget.tokens == 300
    assert client.report("paper_fields") == UseReport(6, 3, 0, 3, 300)
    assert Failure("skipped: token budget spent (llm.max_tokens 250)") in found.values()


def test_requests_after_the_deadline_are_skipped(fake: LlmFake) -> None:
    now = [0.0]

    def answer(request: Request) -> dict[str, list[str]]:
        now[0] += 4  # each answer takes four seconds of the run's clock
        return {"phrases": ["x"], "exclude_phrases": []}

    fake.responder = answer
    budget = Budget(LOTS, LOTS, 10, clock=lambda: now[0])
    requests = synthetic(5, "reader_profile")
    with ChatClient(fake.settings(concurrency=1), budget=budget) as client:
        found = client.ask(requests, read_profile_phrases)
    assert fake.counts == {"reader_profile": 3}  # sent at 0, 4 and 8 s
    assert [found[r.key] for r in requests][3:] == [
        Failure("skipped: the run's time is up (llm.deadline 10 s)")
    ] * 2


def test_a_hung_request_ends_at_the_run_deadline_and_the_rest_are_skipped(
    fake: LlmFake, waits: Waits
) -> None:
    fake.mode = "hang"
    requests = synthetic(3)
    started = time.monotonic()
    budget = Budget(LOTS, LOTS, 1.0)
    with ChatClient(fake.settings(timeout=60, retries=3, concurrency=1), sleep=waits,
                    budget=budget) as client:
        found = client.ask(requests, read_paper_fields)
    assert time.monotonic() - started < 3  # not 60 s per try, four tries
    assert found[requests[0].key] == Failure(
        "the run's time ran out waiting for the reply (llm.deadline 1 s)"
    )
    assert {found[r.key] for r in requests[1:]} == {
        Failure("skipped: the run's time is up (llm.deadline 1 s)")
    }
    assert fake.counts == {"paper_fields": 1} and waits == []


def test_a_retry_that_would_wait_past_the_deadline_is_not_waited_for(
    fake: LlmFake, waits: Waits
) -> None:
    fake.status, fake.retry_after = 503, "20"
    (request,) = synthetic(1)
    with ChatClient(fake.settings(max_retry_after=60), sleep=waits,
                    budget=Budget(LOTS, LOTS, 10)) as client:
        found = client.ask([request], read_paper_fields)
    assert found[request.key] == Failure(
        "the run's time ran out waiting for the reply (llm.deadline 10 s)"
    )
    assert waits == [] and fake.counts == {"paper_fields": 1}


def test_reports_are_kept_per_use_across_asks(fake: LlmFake) -> None:
    fake.responder = lambda r: (
        {"fields": ["a"], "summary": "b"} if r.use == "paper_fields"
        else {"phrases": ["c"], "exclude_phrases": []}
    )
    fake.tokens = 10
    with ChatClient(fake.settings(), budget=Budget(6, LOTS, 600)) as client:
        client.ask(synthetic(2), read_paper_fields)
        client.ask(synthetic(3, "reader_profile"), read_profile_phrases)
        client.ask(synthetic(1), read_profile_phrases)  # paper replies read as profiles: failed
        client.ask(synthetic(2, "reader_profile"), read_profile_phrases)  # budget spent
    assert client.reports() == {
        "paper_fields": UseReport(asked=3, answered=2, failed=1, skipped=0, tokens=30),
        "reader_profile": UseReport(asked=5, answered=3, failed=0, skipped=2, tokens=30),
    }
