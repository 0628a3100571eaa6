"""The SMTP mailer: SSL or STARTTLS, AUTH, reused connections, N in parallel, a rate cap.

Each reply is classified per stage. A relay that cannot be reached, stalls, drops the line or
refuses our sender at MAIL is the relay's fault: the message and the rest of the batch are
deferred (queued again, no attempt used). At RCPT and DATA, 4xx is transient and 5xx permanent,
and a 5xx "no such user" at RCPT is a hard bounce.
"""

from __future__ import annotations

import contextlib
import queue
import smtplib
import ssl
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import Engine

from newsletter import addresses
from newsletter.delivery.base import Mailer, OnResult, deferred, report
from newsletter.delivery.message import raw_bytes
from newsletter.delivery.smtp_reply import classify, delivered
from newsletter.errors import ConfigError
from newsletter.models import OutgoingEmail, SendResult
from newsletter.store.limits import NO_PACE, LocalPace, Pace, pace_for

_DROPPED = (smtplib.SMTPException, OSError)  # timeouts and resets are OSErrors


@dataclass(frozen=True)
class SmtpOptions:
    """``[mailers.NAME]`` options of the smtp backend; the password comes from the environment."""

    host: str = "localhost"
    port: int = 0  # 0: 465 with ssl, 587 with starttls, 25 without
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    timeout: float = 30.0
    connections: int = 1
    max_rate: float = 0.0  # messages per second over all connections; 0: no cap
    envelope_from: str = ""  # the bounce address (MAIL FROM); default: the From address
    local_hostname: str = ""
    ca_file: str = ""  # PEM certificates to trust instead of the system's (a private relay)
    max_per_connection: int = 0  # reconnect after this many messages (0: never), for relays
                                 # that cap a session and would answer 421 past the cap

    def __post_init__(self) -> None:
        if self.connections < 1:
            raise ValueError("key 'connections' must be 1 or more")
        if self.timeout <= 0 or self.max_rate < 0:
            raise ValueError("keys 'timeout' and 'max_rate' must be positive")

    @property
    def effective_port(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587}.get(self.security, 25)


class _Channel:
    """One SMTP connection, opened on first use and reopened after it drops."""

    def __init__(self, options: SmtpOptions, password: str) -> None:
        self._o = options
        self._password = password
        self._smtp: smtplib.SMTP | None = None
        self._count = 0  # messages tried on the current connection

    def _connect(self) -> smtplib.SMTP:
        o = self._o
        host, port, local = o.host, o.effective_port, o.local_hostname or None
        smtp: smtplib.SMTP
        context = ssl.create_default_context(cafile=o.ca_file or None)
        # Connecting in the constructor sets the host name that TLS verifies; a failure
        # there closes the socket itself (smtplib closes it on a bad greeting or an OSError).
        if o.security == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, local, timeout=o.timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, local, timeout=o.timeout)
        try:
            smtp.ehlo()
            if o.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if o.username:
                smtp.login(o.username, self._password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, email: OutgoingEmail, envelope_from: str) -> SendResult:
        cap = self._o.max_per_connection
        if cap and self._count >= cap:
            self.quit()
        try:
            if self._smtp is None:
                self._smtp, self._count = self._connect(), 0
            self._count += 1
            return self._transaction(self._smtp, email, envelope_from)
        except smtplib.SMTPResponseException as exc:
            # Refused before MAIL (greeting, EHLO, STARTTLS, AUTH): the server or our account
            # is the problem, never this message, so it is always worth another try.
            self.drop()
            code, text = exc.smtp_code, _describe_reply(exc.smtp_error)
            return deferred(email, f"connect to {self._o.host} refused: {code} {text}")
        except _DROPPED as exc:
            # Unreachable, or silent mid-transaction (a relay stalled at DATA): the relay's
            # fault, not this message's.
            self.drop()
            return deferred(email, f"connection to {self._o.host} failed: {_describe(exc)}")

    def _transaction(self, smtp: smtplib.SMTP, email: OutgoingEmail, sender: str) -> SendResult:
        recipient = addresses.split(email.to)[1]
        for stage, command in (("MAIL", smtp.mail), ("RCPT", smtp.rcpt)):
            arg = sender if stage == "MAIL" else recipient
            code, reply = command(arg)
            if code not in (250, 251) and stage == "MAIL":
                # MAIL FROM names our sender, not the reader: a refusal there (550 5.7.1 relay
                # denied, 451 local error) is the relay's or our configuration's, for every
                # message alike.
                self._refused(email, stage, code, reply)
                return deferred(email, f"{stage} {code} {_describe_reply(reply)}")
            if code not in (250, 251):
                return self._refused(email, stage, code, reply)
        try:
            code, reply = smtp.data(raw_bytes(email))
        except smtplib.SMTPDataError as exc:
            return self._refused(email, "DATA", exc.smtp_code, exc.smtp_error)
        if code != 250:
            return self._refused(email, "DATA", code, reply)
        return delivered(email, reply)

    def _refused(
        self, email: OutgoingEmail, stage: str, code: int, reply: bytes | str
    ) -> SendResult:
        if code == 421 or code < 200:
            self.drop()  # the server is closing the connection (or talks nonsense)
        elif self._smtp is not None:
            try:
                self._smtp.rset()
            except _DROPPED:
                self.drop()
        return classify(email, stage, code, reply)

    def drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def quit(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(*_DROPPED):
                self._smtp.quit()
        self.drop()


def _describe_reply(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())[:200]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class SmtpMailer(Mailer):
    """Sends over ``connections`` reused SMTP connections; results arrive per message."""

    options_type = SmtpOptions
    options: SmtpOptions
    reaches_inboxes = True
    pace: Pace | None = None  # set before open(); None: ``max_rate`` holds in this mailer only

    def open(self) -> bool:
        if getattr(self, "_channels", None) is not None:
            return False
        password = self.secret("PASSWORD")
        if self.options.username and not password:
            raise ConfigError(f"mailers.{self.name}.username is set but environment variable "
                              f"{self.secret_name('PASSWORD')} is not")
        n = self.options.connections
        self._channels: queue.SimpleQueue[_Channel] | None = queue.SimpleQueue()
        for _ in range(n):
            self._channels.put(_Channel(self.options, password))
        pool = ThreadPoolExecutor(n, thread_name_prefix=f"smtp-{self.name}") if n > 1 else None
        self._pool = pool
        rate = self.options.max_rate
        self._limit: Pace = self.pace or (LocalPace(rate) if rate > 0 else NO_PACE)
        return True

    def close(self) -> None:
        channels = getattr(self, "_channels", None)
        if channels is None:
            return
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        while not channels.empty():
            channels.get().quit()
        self._channels = None

    def send_messages(
        self, batch: Sequence[OutgoingEmail], on_result: OnResult | None = None
    ) -> list[SendResult]:
        self.open()
        self._unreachable: str | None = None  # once set, the rest of this batch is not tried
        if self._pool is None:
            return [self._send_one(email, on_result) for email in batch]
        return list(self._pool.map(lambda e: self._send_one(e, on_result), batch))

    def _send_one(self, email: OutgoingEmail, on_result: OnResult | None) -> SendResult:
        assert self._channels is not None
        channel = self._channels.get()
        try:
            if self._unreachable is not None:  # do not wait out one timeout per message
                return report(deferred(email, f"not tried: {self._unreachable}"), on_result)
            self._limit.wait()
            envelope = addresses.split(self.options.envelope_from or email.sender)[1]
            result = channel.send(email, envelope)
            if result.status == "deferred":  # the relay is at fault: pause the whole batch
                self._unreachable = result.detail
            return report(result, on_result)
        finally:
            self._channels.put(channel)


def share_pace(mailer: Mailer, engine: Engine) -> Mailer:
    """``mailer``; an SMTP one gets a ``max_rate`` that holds over every process on ``engine``
    when it is PostgreSQL (on SQLite, one process, over this process)."""
    if isinstance(mailer, SmtpMailer) and mailer.pace is None:
        mailer.pace = pace_for(engine, f"smtp:{mailer.name}", mailer.options.max_rate)
    return mailer
