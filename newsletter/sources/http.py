"""The HTTP client policy for remote sources: timeouts, retries, conditional GET, size cap.

``fetch.timeout`` bounds each step (connecting, and each read, which a byte restarts); each
try also has an overall deadline of ``DEADLINE_FACTOR`` (3) times ``fetch.timeout`` for the
whole response, head and body. A server that trickles a byte now and then cannot keep a
fetch going: at the deadline the try is abandoned and counts as a timeout (and is retried).
The try runs in a daemon thread, which stops at its next byte or read timeout.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import httpx

from newsletter import __version__
from newsletter.config import FetchSettings
from newsletter.errors import SourceError
from newsletter.models import Validators
from newsletter.wording import count

DEFAULT_USER_AGENT = f"newsletter/{__version__} (personalized research-paper digest)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEADLINE_FACTOR = 3  # a try's whole response must arrive within this many timeouts


@dataclass(frozen=True)
class Response:
    """A complete response; ``not_modified`` means a 304 with nothing to parse."""

    url: str
    status: int
    body: bytes
    validators: Validators

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class _Retry(Exception):
    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.wait = reason, wait


class Fetcher:
    """GETs URLs under one policy; a transport can be passed in for tests.

    ``on_retry``, when given, hears one plain line before each wait between tries;
    ``deadline`` is each try's overall limit in seconds (default: three times ``settings.timeout``).
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str], None] | None = None,
        deadline: float | None = None,
    ) -> None:
        self.settings = settings
        self.deadline = deadline if deadline is not None else settings.timeout * DEADLINE_FACTOR
        self._sleep = sleep
        self._on_retry = on_retry
        self._client = httpx.Client(
            transport=transport,
            timeout=settings.timeout,
            follow_redirects=True,
            max_redirects=settings.max_redirects,
            headers={"User-Agent": settings.user_agent or DEFAULT_USER_AGENT},
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, source: str, validators: Validators | None = None) -> Response:
        """GET ``url``; retry what may pass, raise ``SourceError`` naming ``source`` otherwise."""
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._try(url, source, validators)
            except _Retry as retry:
                if attempt == attempts:
                    raise SourceError(
                        source, f"{retry.reason} (gave up after {count(attempts, 'try', 'tries')})"
                    ) from None
                self._wait(url, source, retry, attempt)
        raise AssertionError("unreachable")

    def _wait(self, url: str, source: str, retry: _Retry, attempt: int) -> None:
        delay = self._delay(attempt, retry.wait, source)
        if self._on_retry is not None:
            self._on_retry(
                f"{_shown(url)}: {retry.reason}, trying again in {delay:.1f} s "
                f"(try {attempt + 1} of {self.settings.retries + 1})"
            )
        self._sleep(delay)

    def _delay(self, attempt: int, wait: float | None, source: str) -> float:
        if wait is not None:
            if wait > self.settings.max_retry_after:
                raise SourceError(source, f"server asks to retry after {wait:.0f} s; giving up")
            return wait
        base: float = self.settings.backoff * 2.0 ** (attempt - 1)
        return base + random.uniform(0, base / 2)

    def _try(self, url: str, source: str, validators: Validators | None) -> Response:
        """One try, abandoned (a timeout, so retried) when not complete by the deadline."""
        done, abandoned = threading.Event(), threading.Event()
        outcome: list[Response | BaseException] = []

        def work() -> None:
            try:
                outcome.append(self._once(url, source, validators, abandoned))
            except BaseException as exc:  # handed to the waiting thread, raised there
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=work, name=f"fetch {_shown(url)}", daemon=True).start()
        if not done.wait(self.deadline):
            abandoned.set()
            raise _Retry(f"timed out: no complete response within {self.deadline:g} s")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _once(
        self, url: str, source: str, validators: Validators | None, abandoned: threading.Event
    ) -> Response:
        headers = _conditional_headers(validators)
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                return self._read(response, source, abandoned)
        except httpx.TooManyRedirects:
            raise SourceError(source, "too many redirects (a redirect loop?)") from None
        except httpx.DecodingError:
            raise SourceError(source, "cannot decode the response body (bad compression)") \
                from None
        except httpx.UnsupportedProtocol as exc:
            raise SourceError(source, f"unsupported URL scheme: {exc}") from None
        except httpx.TimeoutException:
            raise _Retry(f"timed out after {self.settings.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise _Retry(f"connection failed: {type(exc).__name__}") from None
        except httpx.InvalidURL as exc:
            raise SourceError(source, f"invalid URL: {exc}") from None

    def _read(
        self, response: httpx.Response, source: str, abandoned: threading.Event
    ) -> Response:
        status = response.status_code
        if status in RETRY_STATUSES:
            raise _Retry(f"HTTP {status}", retry_after(response.headers.get("Retry-After")))
        if status == 304:
            return Response(str(response.url), 304, b"", _validators(response))
        if status >= 400:
            raise SourceError(source, f"HTTP {status} {response.reason_phrase}".strip())
        body = self._body(response, source, abandoned)
        return Response(str(response.url), status, body, _validators(response))

    def _body(self, response: httpx.Response, source: str, abandoned: threading.Event) -> bytes:
        limit = self.settings.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise SourceError(
                source, f"response of {int(declared)} bytes exceeds max_bytes {limit}"
            )
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            if abandoned.is_set():  # past the deadline: nobody waits for this body any more
                raise _Retry("abandoned")
            size += len(chunk)
            if size > limit:
                raise SourceError(source, f"response exceeds max_bytes {limit}")
            chunks.append(chunk)
        return b"".join(chunks)


def _shown(url: str) -> str:
    """``url`` for a progress line: without a user name or password."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _conditional_headers(validators: Validators | None) -> dict[str, str]:
    headers = {}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _validators(response: httpx.Response) -> Validators:
    return Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))


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
