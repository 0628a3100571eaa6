"""The HTTP client for remote sources: GETs under the project's HTTP policy
(``newsletter.http_policy``: timeouts, a deadline per try, retries, ``Retry-After``, a body cap)
with ``[fetch]`` settings, conditional GET, and every failure one ``SourceError`` line naming
the source."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import httpx

from newsletter.config import FetchSettings
from newsletter.errors import SourceError
from newsletter.http_policy import HttpFailure, Policy, PolicyClient, retry_after
from newsletter.models import Validators

__all__ = ["Fetcher", "Response", "retry_after"]


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


def policy(settings: FetchSettings) -> Policy:
    return Policy(
        timeout=settings.timeout, retries=settings.retries, backoff=settings.backoff,
        max_retry_after=settings.max_retry_after, max_bytes=settings.max_bytes,
        max_redirects=settings.max_redirects, user_agent=settings.user_agent,
    )


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
        self._client = PolicyClient(policy(settings), transport=transport, sleep=sleep,
                                    on_retry=on_retry, deadline=deadline)
        self.deadline = self._client.deadline

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
        try:
            reply = self._client.request("GET", url, headers=_conditional_headers(validators))
        except HttpFailure as exc:
            raise SourceError(source, exc.problem) from None
        found = Validators(reply.headers.get("ETag"), reply.headers.get("Last-Modified"))
        return Response(reply.url, reply.status, reply.body, found)


def _conditional_headers(validators: Validators | None) -> dict[str, str]:
    headers = {}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers
