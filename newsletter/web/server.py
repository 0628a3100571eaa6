"""How ``newsletter serve`` runs the pages under uvicorn: uvicorn's h11 protocol with a
deadline for a request's line and headers, and a short idle time between requests.

uvicorn closes a kept-alive connection that stays idle after a response
(``timeout_keep_alive``), but it has no deadline while a request's headers arrive: a client
that connects and sends nothing, or one byte a second, held a connection open for as long as
it liked. Here the deadline starts when a connection opens (or, on a kept-alive one, when the
next request's first byte arrives) and ends when the headers are complete; a form's body has
its own deadline where the form is read (``web.forms.BODY_SECONDS``).
"""

from __future__ import annotations

import asyncio
import logging

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_SECONDS = 10.0  # for a request's line and headers to arrive
IDLE_SECONDS = 5  # a kept-alive connection with no new request is closed after this
log = logging.getLogger("newsletter.web")


class HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers are not all there
    ``HEADER_SECONDS`` after it opened or after the request's first byte."""

    header_seconds = HEADER_SECONDS
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the next request on a kept-alive connection starts
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
            log.info("closed %s: no complete request headers within %gs", client,
                     self.header_seconds)
            self.transport.close()


def server_config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    """The uvicorn settings of ``newsletter serve``."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=HeaderDeadline,
        timeout_keep_alive=IDLE_SECONDS,
        proxy_headers=True,  # trust X-Forwarded-For from the local reverse proxy
        log_config=None,
        access_log=False,
    )
