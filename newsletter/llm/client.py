"""Sends the contract's requests to an OpenAI-compatible chat server, several at once, under the
project's HTTP policy and a run's budget.

``ChatClient.ask`` never raises for one request's problem: an HTTP failure, a body that is not
a chat completion, or a reply that does not fit the schema becomes a ``Failure`` (and one
warning line naming the use, never the prompt or the key), and a request the budget refuses is
a ``Failure("skipped: ...")`` that was never sent.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import httpx

from newsletter.config import LlmSettings
from newsletter.errors import ConfigError
from newsletter.http_policy import HttpFailure, Policy, PolicyClient, Reply
from newsletter.llm.budget import Budget
from newsletter.llm.contract import Request, Thinking

log = logging.getLogger(__name__)
T = TypeVar("T")
SKIPPED = "skipped: "
DOWN_AFTER = 5  # requests failing at the server in a row after which a run stops asking


@dataclass(frozen=True)
class Failure:
    """Why one request has no answer, in one line (``skipped: ...`` when it was not sent)."""

    reason: str

    @property
    def skipped(self) -> bool:
        return self.reason.startswith(SKIPPED)


@dataclass(frozen=True)
class UseReport:
    """One use's requests so far: asked = answered + failed + skipped."""

    asked: int = 0
    answered: int = 0
    failed: int = 0
    skipped: int = 0
    tokens: int = 0  # as the server counted them (``usage.total_tokens``)


_PENDING = Failure("not answered yet")


class _Problem(Exception):
    """One request's failure, in one line."""


class _OutOfTime(Exception):
    """The run's deadline came while a request was in flight or waiting to be retried."""


class _Line:
    """One request at a time under the policy, its tries and waits bounded by the run's time."""

    def __init__(
        self, policy: Policy, budget: Budget, sleep: Callable[[float], None],
        headers: dict[str, str], transport: httpx.BaseTransport,
    ) -> None:
        self._budget, self._sleep = budget, sleep
        self.http = PolicyClient(policy, transport=transport, sleep=self._wait, headers=headers,
                                 on_retry=log.debug)
        self._deadline = self.http.deadline  # each try's own limit, before the run's

    def post(self, url: str, body: dict[str, Any]) -> Reply:
        self._bound()
        return self.http.request("POST", url, json=body)

    def _bound(self) -> None:
        left = self._budget.time_left()
        if left <= 0:
            raise _OutOfTime
        self.http.deadline = min(self._deadline, left)

    def _wait(self, seconds: float) -> None:
        if seconds >= self._budget.time_left():
            raise _OutOfTime
        self._sleep(seconds)
        self._bound()


class ChatClient:
    """Asks an OpenAI-compatible server (``settings.base_url``) under ``settings`` and a run's
    ``budget`` (by default one from ``settings``, starting now); ``transport`` and ``sleep``
    are for tests. Use it as a context manager, or call ``close``."""

    def __init__(
        self,
        settings: LlmSettings,
        api_key: str = "",
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        budget: Budget | None = None,
    ) -> None:
        if not settings.enabled:
            raise ConfigError("key 'llm.base_url' is not set: the language model is off")
        self.settings = settings
        self.budget = budget if budget is not None else Budget.from_settings(settings)
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        self._thinking = (Thinking(settings.reasoning_tokens, settings.reasoning_effort)
                          if settings.reasoning else None)
        policy = Policy(timeout=settings.timeout, retries=settings.retries,
                        max_retry_after=settings.max_retry_after, max_bytes=settings.max_bytes,
                        limit_key="llm.max_bytes")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # one connection pool (and TLS context) for every line; each line's own client sets
        # its tries' deadline, so that the run's time left bounds each request on its own
        shared = transport if transport is not None else httpx.HTTPTransport()
        self._lines: queue.Queue[_Line] = queue.Queue()
        for _ in range(settings.concurrency):
            self._lines.put(_Line(policy, self.budget, sleep, headers, shared))
        self._reports: dict[str, UseReport] = {}
        self._lock = threading.Lock()
        self._failing = 0  # requests that failed at the server in a row (reset by an answer)
        self._down = ""  # once DOWN_AFTER failed in a row: why; the run asks nothing more

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        while not self._lines.empty():
            self._lines.get_nowait().http.close()

    def reports(self) -> dict[str, UseReport]:
        """Each use asked so far, and what became of its requests."""
        with self._lock:
            return dict(self._reports)

    def report(self, use: str) -> UseReport:
        with self._lock:
            return self._reports.get(use, UseReport())

    def ask(self, requests: Iterable[Request], read: Callable[[str], T]) -> dict[str, T | Failure]:
        """Each request's reply read by ``read`` (``contract.read_paper_fields``, ...), or its
        ``Failure``, by ``Request.key``; up to ``settings.concurrency`` in flight at once."""
        return self.ask_each((request, read) for request in requests)

    def ask_each(
        self, asks: Iterable[tuple[Request, Callable[[str], T]]]
    ) -> dict[str, T | Failure]:
        """As ``ask``, with a reader per request (rerank requests of different lengths).
        ``asks`` is read as lines free up: a generator of requests is never held whole."""
        found: dict[str, T | Failure] = {}  # in the order asked
        uses: dict[str, str] = {}
        pending: dict[Future[T | Failure], str] = {}
        with ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="llm") as pool:
            for request, read in asks:
                if request.key in uses:
                    continue
                uses[request.key] = request.use
                found[request.key] = _PENDING
                pending[pool.submit(self._one, request, read)] = request.key
                if len(pending) >= 2 * self.settings.concurrency:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    found.update((pending.pop(future), future.result()) for future in done)
            found.update((key, future.result()) for future, key in pending.items())
        self._log_skipped(found, uses)
        return found

    def _log_skipped(self, found: dict[str, T | Failure], uses: dict[str, str]) -> None:
        """One line per use and reason for the requests the budget skipped."""
        asked = Counter(uses.values())
        skipped = Counter(
            (uses[k], v.reason) for k, v in found.items() if isinstance(v, Failure) and v.skipped
        )
        for (use, reason), n in sorted(skipped.items()):
            log.warning("llm %s: %d of %d requests %s", use, n, asked[use], reason)

    def _one(self, request: Request, read: Callable[[str], T]) -> T | Failure:
        self._count(request.use, asked=1)
        refused = f"the model is not answering ({self._down})" if self._down else None
        refused = refused or self.budget.take()
        if refused is not None:
            self._count(request.use, skipped=1)
            return Failure(SKIPPED + refused)
        try:
            value = self._send(request, read)
        except _Problem as problem:
            self._count(request.use, failed=1)
            log.warning("llm %s: %s", request.use, problem)
            return Failure(str(problem))
        self._count(request.use, answered=1)
        return value

    def _server_failed(self, problem: str) -> None:
        """A request the server did not answer: after ``DOWN_AFTER`` in a row, the run stops
        asking (a model that is down must not hold up a run by one timeout per request)."""
        with self._lock:
            self._failing += 1
            if self._failing >= DOWN_AFTER and not self._down:
                self._down = f"{DOWN_AFTER} requests in a row failed, the last: {problem}"
                log.warning("llm: the model is not answering; this run asks nothing more: %s",
                            problem)

    def _send(self, request: Request, read: Callable[[str], T]) -> T:
        body = request.body(self.settings.model, request.reply_tokens, self._thinking)
        line = self._lines.get()
        try:
            reply = line.post(self.url, body)
        except HttpFailure as exc:
            problem = _refusal(exc)
            self._server_failed(problem)
            raise _Problem(problem) from None
        except _OutOfTime:
            deadline = f"llm.deadline {self.budget.deadline_seconds:g} s"
            raise _Problem(f"the run's time ran out waiting for the reply ({deadline})") from None
        finally:
            self._lines.put(line)
        with self._lock:
            self._failing = 0
        answer = completion(reply.body)
        self.budget.spend(answer.tokens)
        self._count(request.use, tokens=answer.tokens)
        if answer.content is None:
            raise _Problem("the model refused to answer" if answer.refused else
                           "the server's answer has no message content")
        try:
            return read(answer.content)
        except ValueError as exc:  # contract.BadReply, or a reader's own ValueError
            cut = answer.finish_reason == "length"
            raise _Problem(f"{exc} (cut at {self._cap(request)})" if cut else str(exc)) from None

    def _cap(self, request: Request) -> str:
        """The reply's token cap as the request said it."""
        if self._thinking is None:
            return f"max_tokens {request.reply_tokens}"
        return (f"max_completion_tokens {request.reply_tokens + self._thinking.tokens}: "
                "raise llm.reasoning_tokens")

    def _count(self, use: str, **add: int) -> None:
        with self._lock:
            now = self._reports.get(use, UseReport())
            self._reports[use] = replace(now, **{k: getattr(now, k) + v for k, v in add.items()})


def _refusal(exc: HttpFailure) -> str:
    """A failure in one line with the server's own message, if it gave one, and what to
    change when it refuses the parameters that a model that reasons first refuses."""
    if not exc.detail:
        return exc.problem
    refused = "max_tokens" in exc.detail or "temperature" in exc.detail
    hint = " (a model that reasons first? set llm.reasoning = true)" if refused else ""
    return f"{exc.problem}: {exc.detail}{hint}"


@dataclass(frozen=True)
class Completion:
    """What the client reads of a chat completion."""

    content: str | None  # choices[0].message.content
    tokens: int  # usage.total_tokens, 0 when not given
    finish_reason: str = ""
    refused: bool = False  # the message holds a refusal instead of content


def completion(body: bytes) -> Completion:
    """Read an OpenAI chat completion; ``_Problem`` when the body is not one."""
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        message = choice["message"]
    except (ValueError, RecursionError, KeyError, IndexError, TypeError):
        raise _Problem("the server's answer is not a chat completion") from None
    if not isinstance(choice, dict) or not isinstance(message, dict):
        raise _Problem("the server's answer is not a chat completion")
    usage = data.get("usage")
    tokens = usage.get("total_tokens") if isinstance(usage, dict) else None
    content = message.get("content")
    finish = choice.get("finish_reason")
    return Completion(
        content if isinstance(content, str) else None,
        tokens if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens > 0 else 0,
        finish if isinstance(finish, str) else "",
        bool(message.get("refusal")),
    )
