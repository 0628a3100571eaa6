"""The project's HTTP policy, for every outgoing request that may be retried: timeouts,
retries with backoff and jitter, ``Retry-After``, an overall deadline per try and a body cap.

``timeout`` bounds each step (connecting, and each read, which a byte restarts); each try also
has an overall deadline (three times ``timeout`` unless given) for the whole response, head and
body. A server that trickles a byte now and then cannot keep a request going: at the deadline
the try is abandoned and counts as a timeout (and is retried). The try runs in a daemon
thread, which stops at its next byte or read timeout. Sources (``sources.http``) and the
language model client (``llm.client``) both send through ``PolicyClient``.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from newsletter import __version__
from newsletter.wording import count

DEFAULT_USER_AGENT = f"newsletter/{__version__} (personalized research-paper digest)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEADLINE_FACTOR = 3  # a try's whole response must arrive within this many timeouts


@dataclass(frozen=True)
class Policy:
    """How hard to try: per-step timeout, retries and their backoff, the longest
    ``Retry-After`` honoured, the largest body read, redirects followed."""

    timeout: float = 20.0
    retries: int = 3
    backoff: float = 1.0
    max_retry_after: float = 120.0
    max_bytes: int = 20_000_000
    max_redirects: int = 5
    user_agent: str = ""
    limit_key: str = "max_bytes"  # the setting named when a body is too large


@dataclass(frozen=True)
class Reply:
    """A complete response (a status below 400, or 304)."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes


class HttpFailure(Exception):
    """A request that failed for good: ``problem`` is one line (no URL, no secret);
    ``status``, the last HTTP status when there was one, and ``wait``, the last
    ``Retry-After`` in seconds when the server gave one (a caller may try again then);
    ``detail``, what a refusing server said in a JSON error body (``error.message``), if any."""

    def __init__(self, problem: str, status: int | None = None,
                 wait: float | None = None, detail: str = "") -> None:
        super().__init__(problem)
        self.problem, self.status, self.wait, self.detail = problem, status, wait, detail


class _Retry(Exception):
    def __init__(self, reason: str, wait: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.wait, self.status = reason, wait, status


class PolicyClient:
    """Sends requests under one ``Policy``; a transport can be passed in for tests.

    ``on_retry``, when given, hears one plain line before each wait between tries;
    ``deadline`` is each try's overall limit in seconds (default: three times the timeout).
    """

    def __init__(
        self,
        policy: Policy,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str], None] | None = None,
        deadline: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.policy = policy
        self.deadline = deadline if deadline is not None else policy.timeout * DEADLINE_FACTOR
        self._sleep = sleep
        self._on_retry = on_retry
        self._client = httpx.Client(
            transport=transport,
            timeout=policy.timeout,
            follow_redirects=True,
            max_redirects=policy.max_redirects,
            headers={"User-Agent": policy.user_agent or DEFAULT_USER_AGENT, **(headers or {})},
        )

    def __enter__(self) -> PolicyClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, url: str, **kwargs: Any) -> Reply:
        """Send; retry what may pass; raise ``HttpFailure`` otherwise (``kwargs`` go to httpx:
        ``headers``, ``json``, ``content``)."""
        attempts = self.policy.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._try(method, url, kwargs)
            except _Retry as retry:
                if attempt == attempts:
                    tries = count(attempts, "try", "tries")
                    raise HttpFailure(f"{retry.reason} (gave up after {tries})", retry.status,
                                      retry.wait) from None
                self._wait(url, retry, attempt)
        raise AssertionError("unreachable")

    def _wait(self, url: str, retry: _Retry, attempt: int) -> None:
        try:
            delay = self._delay(attempt, retry.wait)
        except HttpFailure as failure:
            raise HttpFailure(failure.problem, retry.status, retry.wait) from None
        if self._on_retry is not None:
            self._on_retry(
                f"{shown(url)}: {retry.reason}, trying again in {delay:.1f} s "
                f"(try {attempt + 1} of {self.policy.retries + 1})"
            )
        self._sleep(delay)

    def _delay(self, attempt: int, wait: float | None) -> float:
        if wait is not None:
            if wait > self.policy.max_retry_after:
                raise HttpFailure(f"server asks to retry after {wait:.0f} s; giving up")
            return wait
        base: float = self.policy.backoff * 2.0 ** (attempt - 1)
        return base + random.uniform(0, base / 2)

    def _try(self, method: str, url: str, kwargs: dict[str, Any]) -> Reply:
        """One try, abandoned (a timeout, so retried) when not complete by the deadline."""
        done, abandoned = threading.Event(), threading.Event()
        outcome: list[Reply | BaseException] = []

        def work() -> None:
            try:
                outcome.append(self._once(method, url, kwargs, abandoned))
            except BaseException as exc:  # handed to the waiting thread, raised there
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=work, name=f"http {method} {_host(url)}", daemon=True).start()
        if not done.wait(self.deadline):
            abandoned.set()
            raise _Retry(f"timed out: no complete response within {self.deadline:g} s")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _once(
        self, method: str, url: str, kwargs: dict[str, Any], abandoned: threading.Event
    ) -> Reply:
        try:
            with self._client.stream(method, url, **kwargs) as response:
                return self._read(response, abandoned)
        except httpx.TooManyRedirects:
            raise HttpFailure("too many redirects (a redirect loop?)") from None
        except httpx.DecodingError:
            raise HttpFailure("cannot decode the response body (bad compression)") from None
        except httpx.UnsupportedProtocol as exc:
            raise HttpFailure(f"unsupported URL scheme: {exc}") from None
        except httpx.TimeoutException:
            raise _Retry(f"timed out after {self.policy.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise _Retry(f"connection failed: {type(exc).__name__}") from None
        except httpx.InvalidURL as exc:
            raise HttpFailure(f"invalid URL: {exc}") from None

    def _read(self, response: httpx.Response, abandoned: threading.Event) -> Reply:
        status = response.status_code
        if status in RETRY_STATUSES:
            wait = retry_after(response.headers.get("Retry-After"))
            if wait is None and status == 429:  # Telegram and Discord say it in the body
                wait = _body_retry_after(_small_json(response))
            raise _Retry(f"HTTP {status}", wait, status)
        if status == 304:
            return Reply(str(response.url), 304, response.headers, b"")
        if status >= 400:
            raise HttpFailure(f"HTTP {status} {response.reason_phrase}".strip(), status,
                              detail=_error_detail(_small_json(response)))
        body = self._body(response, abandoned)
        return Reply(str(response.url), status, response.headers, body)

    def _body(self, response: httpx.Response, abandoned: threading.Event) -> bytes:
        limit, key = self.policy.max_bytes, self.policy.limit_key
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise HttpFailure(f"response of {int(declared)} bytes exceeds {key} {limit}")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            if abandoned.is_set():  # past the deadline: nobody waits for this body any more
                raise _Retry("abandoned")
            size += len(chunk)
            if size > limit:
                raise HttpFailure(f"response exceeds {key} {limit}")
            chunks.append(chunk)
        return b"".join(chunks)


def _host(url: str) -> str:
    """``url``'s host alone, for a thread's name (a path may hold a token: Telegram's bot
    token, a webhook's secret); "?" for a URL that does not parse."""
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def shown(url: str) -> str:
    """``url`` for a progress line: without a user name or password."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


ERROR_BYTES = 4096  # of a refusal's body, read for its message


def _small_json(response: httpx.Response) -> Any:
    """A refusal's body as JSON when it is short (``ERROR_BYTES``) and JSON, else None."""
    body = b""
    with contextlib.suppress(httpx.HTTPError):
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= ERROR_BYTES:
                return None  # too long to be an error message worth quoting
    try:
        return json.loads(body)
    except ValueError:
        return None


def _body_retry_after(data: Any) -> float | None:
    """Seconds to wait from a 429's JSON body: ``retry_after`` (Discord) or
    ``parameters.retry_after`` (Telegram), when no ``Retry-After`` header says it."""
    if not isinstance(data, dict):
        return None
    found = data.get("retry_after")
    if found is None and isinstance(data.get("parameters"), dict):
        found = data["parameters"].get("retry_after")
    if isinstance(found, bool) or not isinstance(found, int | float):
        return None
    return float(found) if 0 <= found < 1e6 else None  # NaN and infinity are refused too


def _error_detail(data: Any) -> str:
    """The message of a JSON error body (``{"error": {"message": ...}}``, ``{"error": "..."}``
    or ``{"message": ...}``), on one line and clipped; "" for anything else."""
    found = data.get("error", data) if isinstance(data, dict) else None
    if isinstance(found, dict):
        found = found.get("message")
    if not isinstance(found, str):
        return ""
    return "".join(ch for ch in " ".join(found.split()) if ch.isprintable())[:200]
