"""The recorded answers come back through the real client, and the client's requests are what
the OpenAI Chat Completions documentation specifies for structured outputs."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from benchmarks.llm_replay import Recorded as Recording
from benchmarks.llm_replay import heldout_readers
from newsletter.llm.client import ChatClient, Failure, UseReport
from newsletter.llm.contract import (
    SCHEMAS,
    Reader,
    paper_request,
    profile_request,
    read_paper_fields,
    read_profile_phrases,
    rerank_reader,
    rerank_request,
)
from newsletter.models import Paper, normalize_title
from tests.llm_fake import LlmFake, Recorded


def test_recorded_paper_fields_come_back_for_seed_papers(
    fake: LlmFake, papers: list[Paper]
) -> None:
    chosen = papers[::37]  # a few from across the pages
    requests = [paper_request(p) for p in chosen]
    with ChatClient(fake.settings()) as client:
        found = client.ask(requests, read_paper_fields)
    recorded = Recorded()
    assert found == {
        r.key: read_paper_fields(json.dumps(recorded.answers[r.key])) for r in requests
    }
    assert fake.counts == {"paper_fields": len(chosen)}
    report = client.report("paper_fields")
    assert (report.asked, report.answered, report.failed, report.skipped) == (5, 5, 0, 0)
    assert report.tokens > 0


def test_recorded_profile_phrases_come_back_for_held_out_readers(
    fake: LlmFake, papers: list[Paper]
) -> None:
    titles = {normalize_title(p.title): p.title for p in papers}
    every = [reader for _, reader in heldout_readers(titles)]
    readers = [
        next(r for r in every if not r.liked and not r.exclude),
        next(r for r in every if r.liked),
        next(r for r in every if r.exclude),
        next(r for r in every if len(r.topics) > 2),
    ]
    requests = [profile_request(r) for r in readers]
    with ChatClient(fake.settings()) as client:
        found = client.ask(requests, read_profile_phrases)
    recorded = Recorded()
    assert found == {
        r.key: read_profile_phrases(json.dumps(recorded.answers[r.key])) for r in requests
    }
    assert all(phrases.phrases for phrases in found.values())  # type: ignore[union-attr]


def test_rerank_scores_kept_by_the_recorder_are_replayed_whatever_the_other_candidates(
    tmp_path: Path, papers: list[Paper]
) -> None:
    reader = Reader(("spiking neural networks",), ("clinical trials",), (papers[3].title,))
    first, second = papers[10:16], papers[13:19]  # three candidates in both
    recording = Recording(tmp_path)
    asked = rerank_request(reader, first)
    recording.add(asked, {"scores": [9, 0, 4, 7, 10, 1]}, reader, [p.title for p in first])
    recording.add(rerank_request(reader, papers[16:19]), {"scores": [3, 5, 8]}, reader,
                  [p.title for p in papers[16:19]])
    recording.save()
    again = rerank_request(reader, second)
    with LlmFake(recorded=Recorded(tmp_path)) as fake, ChatClient(fake.settings()) as client:
        found = client.ask_each([(asked, rerank_reader(6)), (again, rerank_reader(6))])
    assert found == {asked.key: (9, 0, 4, 7, 10, 1), again.key: (7, 10, 1, 3, 5, 8)}


def test_the_request_is_a_documented_structured_output_request(
    fake: LlmFake, papers: list[Paper]
) -> None:
    request = paper_request(papers[0])
    with ChatClient(fake.settings(model="gpt-4o-mini"), "sk-test") as client:
        client.ask([request], read_paper_fields)
    (body,), (headers,) = fake.bodies, fake.headers
    assert headers["authorization"] == "Bearer sk-test"
    assert headers["content-type"] == "application/json"
    assert body == {
        "model": "gpt-4o-mini",
        "temperature": 0,
        "max_tokens": 400,
        "messages": [
            {"role": "system", "content": request.system},
            {"role": "user", "content": request.user},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "paper_fields", "strict": True,
                            "schema": SCHEMAS["paper_fields"]},
        },
    }


def test_a_reasoning_model_gets_its_own_token_cap_and_no_temperature(
    fake: LlmFake, papers: list[Paper]
) -> None:
    """OpenAI's reasoning models refuse ``max_tokens`` and ``temperature``: with
    ``reasoning = true`` the request caps the reply with ``max_completion_tokens`` instead,
    leaving room for the reasoning, and says the effort when it is set."""
    fake.reasoning_only = True
    request = paper_request(papers[0])
    with ChatClient(fake.settings()) as plain:
        refused = plain.ask([request], read_paper_fields)[request.key]
    assert isinstance(refused, Failure) and refused.reason == (
        "HTTP 400 Bad Request: Unsupported parameter: 'max_tokens' is not supported with this "
        "model. (a model that reasons first? set llm.reasoning = true)")
    thinking = fake.settings(reasoning=True, reasoning_tokens=3000, reasoning_effort="low")
    with ChatClient(thinking) as client:
        found = client.ask([request], read_paper_fields)[request.key]
    assert not isinstance(found, Failure) and found.fields
    body = fake.bodies[-1]
    assert (body["max_completion_tokens"], body["reasoning_effort"]) == (3400, "low")
    assert "temperature" not in body and "max_tokens" not in body


@pytest.mark.parametrize(("reasoning", "said"), [
    (False, "cut at max_tokens 400)"),
    (True, "cut at max_completion_tokens 4400: raise llm.reasoning_tokens)"),
])
def test_a_reply_cut_at_its_token_cap_says_which_cap(
    fake: LlmFake, papers: list[Paper], reasoning: bool, said: str
) -> None:
    fake.mode = "cut"
    request = paper_request(papers[0])
    with ChatClient(fake.settings(reasoning=reasoning)) as client:
        found = client.ask([request], read_paper_fields)[request.key]
    assert isinstance(found, Failure) and found.reason.endswith(said), found


@pytest.mark.parametrize("use", sorted(SCHEMAS))
def test_each_schema_follows_the_strict_mode_rules(use: str) -> None:
    """Structured Outputs' strict mode: a name of [a-zA-Z0-9_-]{1,64}, and every object lists
    all its properties as required and sets additionalProperties to false."""
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", use)

    def objects(node: Any) -> list[dict[str, Any]]:
        if isinstance(node, dict):
            own = [node] if node.get("type") == "object" else []
            return own + [o for v in node.values() for o in objects(v)]
        return [o for v in node for o in objects(v)] if isinstance(node, list) else []

    for obj in objects(SCHEMAS[use]):
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj["properties"])


def test_no_key_sends_no_authorization_header(fake: LlmFake, papers: list[Paper]) -> None:
    with ChatClient(fake.settings()) as client:
        client.ask([paper_request(papers[0])], read_paper_fields)
    assert "authorization" not in fake.headers[0]


def test_an_unknown_request_is_one_failure_and_one_line_without_the_prompt(
    fake: LlmFake, caplog: pytest.LogCaptureFixture
) -> None:
    request = profile_request(Reader(("underwater basket weaving",)))
    with ChatClient(fake.settings(), "sk-secret") as client:
        found = client.ask([request], read_profile_phrases)
    # the server's own error message is quoted, never the prompt
    said = "HTTP 404 Not Found: no recorded answer for this request"
    assert found == {request.key: Failure(said)}
    assert client.reports() == {"reader_profile": UseReport(1, 0, 1, 0, 0)}
    assert [r.getMessage() for r in caplog.records] == [f"llm reader_profile: {said}"]
    assert caplog.records[0].levelno == logging.WARNING
    assert "basket" not in caplog.text and request.key not in caplog.text
    assert "sk-secret" not in caplog.text
