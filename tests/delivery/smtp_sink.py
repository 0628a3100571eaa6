"""A real SMTP server on loopback (aiosmtpd) that counts Message-IDs and injects faults on demand.

Faults are queued per stage (CONNECT, MAIL, RCPT, DATA) and consumed one per command: a reply
such as "451 4.3.0 try later", or "drop" (close the connection) or "stall" (say nothing).
``always(stage, address, reply)`` gives one recipient the same fault every time instead.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

STALL_SECONDS = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FaultyHandler:
    """Accepts mail, counting each Message-ID, unless a queued fault says otherwise."""

    def __init__(self, data_delay: float = 0.0) -> None:
        self.received: Counter[str] = Counter()
        self.faults: dict[str, list[str]] = {}
        self.standing: dict[tuple[str, str], str] = {}  # (stage, recipient) -> fault, each time
        self.data_delay = data_delay
        self.lock = threading.Lock()
        self.transactions = 0
        self.connections = 0
        self.envelopes: list[tuple[str, list[str], bytes]] = []  # MAIL FROM, RCPT TOs, content
        self.stalling = 0

    def add(self, stage: str, *replies: str) -> None:
        with self.lock:
            self.faults.setdefault(stage, []).extend(replies)

    def always(self, stage: str, address: str, reply: str) -> None:
        """Answer ``reply`` at ``stage`` whenever ``address`` is the recipient."""
        with self.lock:
            self.standing[(stage, address)] = reply

    def take(self, stage: str, recipient: str = "") -> str | None:
        with self.lock:
            if (stage, recipient) in self.standing:
                return self.standing[(stage, recipient)]
            queue = self.faults.get(stage)
            return queue.pop(0) if queue else None

    async def fault(self, server: SMTP, stage: str, recipient: str = "") -> str | None:
        reply = self.take(stage, recipient)
        if reply == "stall":
            self.stalling += 1
            try:
                await asyncio.sleep(STALL_SECONDS)
            finally:
                self.stalling -= 1
            return "451 4.4.2 too slow"
        if reply == "drop":
            assert server.transport is not None
            server.transport.close()
            return "451 4.4.2 dropped"
        return reply

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = await self.fault(server, "MAIL")
        if reply:
            return reply
        envelope.mail_from = address
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = await self.fault(server, "RCPT", address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await self.fault(server, "DATA", ",".join(envelope.rcpt_tos))
        if reply:
            return reply
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        assert isinstance(envelope.content, bytes)
        headers = BytesHeaderParser().parsebytes(envelope.content)
        with self.lock:
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos),
                                   envelope.original_content or envelope.content))
            self.received[str(headers["Message-ID"])] += 1
            self.transactions += 1
            n = self.transactions
        return f"250 2.0.0 Ok: queued as Q{n}"


class _FaultySMTP(SMTP):
    """Replaces the greeting with a queued CONNECT fault."""

    _greeted = False

    async def push(self, status: Any) -> None:
        text = status.decode() if isinstance(status, bytes) else status
        if not self._greeted and text.startswith("220 "):
            self._greeted = True
            handler: FaultyHandler = self.event_handler
            with handler.lock:
                handler.connections += 1
            transport = self.transport
            assert transport is not None
            try:
                reply = await handler.fault(self, "CONNECT")
                if reply:
                    await super().push(reply)
            except BaseException:
                transport.abort()  # the client gave up while we stalled
                raise
            if reply:
                transport.abort()
                return
        await super().push(status)


class FaultyController(Controller):
    def factory(self) -> SMTP:
        return _FaultySMTP(self.handler, hostname="sink.test", ident="sink", **self.SMTP_kwargs)


class Sink:
    """A running server: ``port``, ``handler.received`` and ``handler.add(stage, ...)``."""

    def __init__(self, data_delay: float = 0.0, **smtp: Any) -> None:
        """``smtp``: aiosmtpd options (tls_context, auth, ssl_context for implicit TLS)."""
        self.handler = FaultyHandler(data_delay)
        self.port = free_port()
        self.controller = FaultyController(self.handler, hostname="127.0.0.1", port=self.port,
                                           **smtp)

    def __enter__(self) -> Sink:
        self.controller.start()
        self.handler.connections = 0  # the controller's own start-up probe is not a client
        return self

    def __exit__(self, *exc: object) -> None:
        deadline = time.monotonic() + STALL_SECONDS + 1
        while self.handler.stalling and time.monotonic() < deadline:
            time.sleep(0.05)  # let a stalled reply finish so no socket is left open
        time.sleep(0.05)
        self.controller.stop()

    @property
    def received(self) -> Counter[str]:
        return self.handler.received
