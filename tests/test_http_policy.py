"""The shared HTTP policy's own promises: a request's thread is named without the secret a
URL's path may hold, and a URL that does not parse is one failure line, not a traceback."""

from __future__ import annotations

import threading

import httpx
import pytest

from newsletter.http_policy import HttpFailure, Policy, PolicyClient


def test_a_requests_thread_is_named_by_its_host_not_its_secret_path() -> None:
    names: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        names.append(threading.current_thread().name)
        return httpx.Response(200, text="ok")

    with PolicyClient(Policy(retries=0), transport=httpx.MockTransport(answer)) as client:
        client.request("POST", "http://api.example.org/bot123:SECRET-TOKEN/sendMessage")
    assert names == ["http POST api.example.org"]


def test_a_url_that_does_not_parse_is_one_failure_line() -> None:
    with PolicyClient(Policy(retries=0)) as client, pytest.raises(HttpFailure) as failed:
        client.request("POST", "https://[::1/x")
    assert "\n" not in str(failed.value) and "invalid URL" in str(failed.value)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"error": {"message": "Unsupported parameter: \'max_tokens\'", "type": "x"}}',
         "Unsupported parameter: 'max_tokens'"),
        (b'{"error": "model not found"}', "model not found"),
        (b'{"message": "bad\\n\\tkey\\u001b[31m"}', "bad key[31m"),  # one line, no escapes
        (b"<html>Bad Request</html>", ""),
        (b'{"error": {"code": 7}}', ""),
        (b'{"error": {"message": "' + b"x" * 5000 + b'"}}', ""),  # too long to quote
        (b"\xff\xfe", ""),
    ],
)
def test_a_refusal_carries_the_servers_own_message_on_one_line(body: bytes, detail: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, content=body)

    with PolicyClient(Policy(retries=0), transport=httpx.MockTransport(answer)) as client, \
            pytest.raises(HttpFailure) as failed:
        client.request("POST", "http://api.example.org/v1/chat/completions")
    assert (failed.value.problem, failed.value.detail) == ("HTTP 400 Bad Request", detail)


@pytest.mark.parametrize(
    ("body", "header", "waited"),
    [
        (b'{"ok": false, "error_code": 429, "parameters": {"retry_after": 7}}', None, 7.0),
        (b'{"message": "You are being rate limited.", "retry_after": 0.5}', None, 0.5),
        (b'{"retry_after": 9}', "2", 2.0),  # the header wins
        (b'{"retry_after": NaN}', None, None),
        (b'{"retry_after": true}', None, None),
        (b'{"retry_after": -3}', None, None),
        (b"slow down", None, None),
    ],
)
def test_a_429_without_retry_after_waits_what_its_json_body_says(
    body: bytes, header: str | None, waited: float | None
) -> None:
    """Telegram (``parameters.retry_after``) and Discord (``retry_after``) say in the body
    how long to wait; without it the backoff applies."""
    replies = iter([httpx.Response(429, content=body, headers={"Retry-After": header}
                                   if header else {}), httpx.Response(200, text="ok")])
    slept: list[float] = []
    policy = Policy(retries=1, backoff=0.25)
    with PolicyClient(policy, transport=httpx.MockTransport(lambda _: next(replies)),
                      sleep=slept.append) as client:
        assert client.request("POST", "http://api.example.org/send").status == 200
    if waited is None:
        assert len(slept) == 1 and 0.25 <= slept[0] <= 0.375  # the backoff, with its jitter
    else:
        assert slept == [waited]
