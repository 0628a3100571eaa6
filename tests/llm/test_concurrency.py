"""Requests run ``llm.concurrency`` at a time: as many at once as the setting allows, no more."""

from __future__ import annotations

import time
from collections.abc import Iterator

from newsletter.llm.client import ChatClient, Failure
from newsletter.llm.contract import Request, read_paper_fields
from tests.llm.conftest import FIELDS, synthetic
from tests.llm_fake import LlmFake


def test_forty_slow_requests_run_eight_at_a_time(fake: LlmFake) -> None:
    fake.latency = 0.2
    started = time.monotonic()
    with ChatClient(fake.settings(concurrency=8)) as client:
        found = client.ask(synthetic(40), read_paper_fields)
    took = time.monotonic() - started
    assert fake.counts == {"paper_fields": 40} and fake.peak == 8
    assert not any(isinstance(v, Failure) for v in found.values())
    assert took < 40 * 0.2 / 2  # one at a time would take 8 s; eight at a time about 1 s


def test_concurrency_one_sends_one_at_a_time(fake: LlmFake) -> None:
    fake.latency = 0.1
    with ChatClient(fake.settings(concurrency=1)) as client:
        client.ask(synthetic(5), read_paper_fields)
    assert fake.counts == {"paper_fields": 5} and fake.peak == 1


def test_the_same_request_twice_is_sent_once(fake: LlmFake) -> None:
    requests = synthetic(3)
    with ChatClient(fake.settings()) as client:
        found = client.ask(requests + requests, read_paper_fields)
    assert len(found) == 3 and fake.counts == {"paper_fields": 3}
    assert client.report("paper_fields").asked == 3


def test_a_generator_of_requests_is_read_as_lines_free_up(fake: LlmFake) -> None:
    made: list[Request] = []

    def requests() -> Iterator[Request]:
        for request in synthetic(60):
            made.append(request)
            yield request

    made_when_answered: list[int] = []
    fake.responder = lambda r: (made_when_answered.append(len(made)), FIELDS)[1]
    fake.latency = 0.02
    with ChatClient(fake.settings(concurrency=2)) as client:
        found = client.ask(requests(), read_paper_fields)
    assert len(found) == 60 and fake.counts == {"paper_fields": 60}
    # at the n-th answer, fewer than n were done: at most 2 x concurrency more were read
    assert all(m <= n + 4 for n, m in enumerate(made_when_answered))
