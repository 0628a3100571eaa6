"""The SMTP mailer: SSL or STARTTLS, AUTH, reused connections, N in parallel.

Each reply is classified per stage. Before the relay has accepted a recipient, a relay that
cannot be reached, stalls, drops the line or refuses our sender at MAIL is the relay's fault:
the message is deferred (queued again, no attempt used), and so is the rest of the batch
(``Mailer.send_messages`` stops there). Once a recipient is accepted, a fault is the
message's: a line dropped or silent at DATA uses one of its attempts (it is retried with
backoff, so it cannot hold the queue, and is sent again at most once per drop) and the next
message goes out on a new connection. At RCPT and DATA, 4xx is transient and 5xx permanent,
and a 5xx "no such user" at RCPT is a hard bounce.
"""

from __future__ import annotations

import contextlib
import queue
import smtplib
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from newsletter import addresses
from newsletter.delivery.base import (
    Mailer,
    MailerEnv,
    MailerOptions,
    OnResult,
    deferred,
    permanent,
    report,
    transient,
)
from newsletter.delivery.message import raw_bytes
from newsletter.delivery.smtp_reply import classify, delivered
from newsletter.errors import ConfigError
from newsletter.models import OutgoingEmail, SendResult
from newsletter.settings_schema import bounded

_DROPPED = (smtplib.SMTPException, OSError)  # timeouts and resets are OSErrors


@dataclass(frozen=True)
class SmtpOptions(MailerOptions):
    """``[mailers.NAME]`` options of the smtp backend; the password comes from the environment.

    ``max_rate`` (from ``MailerOptions``) holds over all connections.
    """

    host: str = "localhost"
    port: int = bounded(0, 0, 65535)  # 0: 465 with ssl, 587 with starttls, 25 without
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    timeout: float = bounded(30.0, 0.1, 3600)
    connections: int = bounded(1, 1, 200)
    envelope_from: str = ""  # the bounce address (MAIL FROM); default: the From address
    local_hostname: str = ""
    ca_file: str = ""  # PEM certificates to trust instead of the system's (a private relay)
    # reconnect after this many messages (0: never), for relays that cap a session and would
    # answer 421 past the cap
    max_per_connection: int = bounded(0, 0, 1_000_000)

    def __post_init__(self) -> None:
        problem = addresses.sender_problem(self.envelope_from) if self.envelope_from else ""
        if problem:  # checked at start-up, not when the first message is refused
            raise ValueError(f"key 'envelope_from' {problem}: {self.envelope_from!r}")

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
        self._accepted = False  # whether the relay accepted the current message's recipient

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
        self._accepted = False
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
            self.drop()
            if self._accepted:
                # The relay took the recipient and then dropped or went silent at DATA: this
                # message's trouble (it may be what the relay chokes on). It uses an attempt
                # and the rest go on; the relay may have kept it, so a retry may repeat it once.
                return transient(email, f"DATA: connection to {self._o.host} lost after the "
                                        f"recipient was accepted: {_describe(exc)}")
            # Unreachable, or silent before any recipient was accepted: the relay's fault.
            return deferred(email, f"connection to {self._o.host} failed: {_describe(exc)}")

    def _transaction(self, smtp: smtplib.SMTP, email: OutgoingEmail, sender: str) -> SendResult:
        recipient = addresses.ascii_address(email.to)  # the domain in IDNA
        self._accepted = False
        options: list[str] = []
        if addresses.needs_smtputf8(recipient):
            if not smtp.has_extn("smtputf8"):
                return permanent(email, f"RCPT: {recipient} has a non-ASCII local part and "
                                        f"{self._o.host} does not offer SMTPUTF8")
            options = ["SMTPUTF8"]  # smtplib then writes the commands in UTF-8
        commands = (("MAIL", lambda a: smtp.mail(a, options)), ("RCPT", smtp.rcpt))
        for stage, command in commands:
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
        self._accepted = True
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

    def __init__(self, name: str, options: Any, env: MailerEnv) -> None:
        super().__init__(name, options, env)
        self._channels: queue.SimpleQueue[_Channel] | None = None
        self._opening = threading.Lock()  # the first requests may arrive on several threads

    @property
    def parallel(self) -> int:
        return self.options.connections

    def open(self) -> bool:
        with self._opening:
            if self._channels is not None:
                return False
            password = self.secret("PASSWORD")
            if self.options.username and not password:
                raise ConfigError(f"mailers.{self.name}.username is set but environment "
                                  f"variable {self.secret_name('PASSWORD')} is not")
            channels: queue.SimpleQueue[_Channel] = queue.SimpleQueue()
            for _ in range(self.options.connections):
                channels.put(_Channel(self.options, password))
            self._channels = channels
            return True

    def close(self) -> None:
        with self._opening:
            channels, self._channels = self._channels, None
        while channels is not None and not channels.empty():
            channels.get().quit()

    def send_request(self, emails: Sequence[OutgoingEmail], on_result: OnResult) -> None:
        self.open()
        for email in emails:
            self._send_one(email, on_result)

    def _send_one(self, email: OutgoingEmail, on_result: OnResult) -> SendResult:
        channels = self._channels
        assert channels is not None
        channel = channels.get()
        try:
            envelope = addresses.ascii_address(self.options.envelope_from or email.sender)
            # Reported while the connection is held: the result is recorded before this
            # connection starts its next message (docs/delivery.md, crash safety).
            return report(channel.send(email, envelope), on_result)
        finally:
            channels.put(channel)
