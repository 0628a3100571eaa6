"""The mailer contract (open, close, context manager, send a batch) and the registry of backends.

Backends are looked up by name in ``BACKENDS`` and imported lazily; each declares a frozen
options dataclass extending ``MailerOptions``, so an unknown or mistyped option is a
``ConfigError`` naming its key, and every backend has ``max_rate``.
"""

from __future__ import annotations

import importlib
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, final

from sqlalchemy.engine import Engine

from newsletter.config import Config, MailerSettings, Secrets
from newsletter.delivery.turns import Turns
from newsletter.errors import ConfigError
from newsletter.models import OutgoingEmail, SendResult
from newsletter.settings_schema import bounded, build
from newsletter.store.limits import NO_PACE, LocalPace, Pace, pace_for

OnResult = Callable[[SendResult], None]

BACKENDS: dict[str, str] = {
    "smtp": "newsletter.delivery.smtp:SmtpMailer",
    "file": "newsletter.delivery.file:FileMailer",
    "console": "newsletter.delivery.console:ConsoleMailer",
    "memory": "newsletter.delivery.memory:MemoryMailer",
    "postmark": "newsletter.delivery.api.postmark:PostmarkMailer",
    "sendgrid": "newsletter.delivery.api.sendgrid:SendGridMailer",
    "mailgun": "newsletter.delivery.api.mailgun:MailgunMailer",
    "resend": "newsletter.delivery.api.resend:ResendMailer",
}


@dataclass(frozen=True)
class MailerEnv:
    """What a backend may use besides its options: secrets and the config folder."""

    secrets: Secrets
    base_dir: Path


MAX_RATE = 10_000.0  # messages per second; a bound for the setting, far above any relay's


@dataclass(frozen=True)
class MailerOptions:
    """The options every backend has; a backend's options dataclass extends these."""

    # messages per second for this mailer (its name) over the deployment; 0: no cap
    max_rate: float = bounded(0.0, 0, MAX_RATE)


@dataclass(frozen=True)
class NoOptions(MailerOptions):
    """For backends that take no options of their own."""


class Mailer(ABC):
    """One way of handing messages to the mail system; reusable across batches until closed.

    ``send_messages`` is the one way in, for every backend: it splits a batch into requests of
    ``request_size`` messages (at most a second's worth under ``max_rate``), hands each out at
    its messages' turns of the pace, ``parallel`` at once, to the backend's ``send_request``,
    and once a result is deferred (the relay failed) defers the messages not yet handed out.
    """

    options_type: ClassVar[type[MailerOptions]] = NoOptions
    reaches_inboxes: ClassVar[bool] = False  # True for backends that deliver to real readers

    def __init__(self, name: str, options: Any, env: MailerEnv) -> None:
        self.name = name
        self.options = options
        self._env = env
        # Set by the sender (``send_due``): one pace per mailer name for the process or, on
        # PostgreSQL, for the deployment. None: this mailer keeps ``max_rate`` by itself.
        self.pace: Pace | None = None
        self._own_pace: Pace | None = None

    @property
    def request_size(self) -> int:
        """Messages per request (a batch API: its batch size)."""
        return 1

    @property
    def parallel(self) -> int:
        """Requests in flight at once (SMTP: its connections)."""
        return 1

    def open(self) -> bool:
        """Prepare connections; True when this call opened them, False when they already were.

        A caller closes only what its own ``open()`` opened (as Django's mail backends do),
        so a mailer handed in open stays open for its owner.
        """
        return False

    def close(self) -> None:
        """Release connections; safe to call twice."""
        return None

    def __enter__(self) -> Mailer:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @final
    def send_messages(
        self, batch: Sequence[OutgoingEmail], on_result: OnResult | None = None
    ) -> list[SendResult]:
        """Send ``batch``; one result per message in order, each reported to ``on_result``
        as soon as it is known (so the caller can record it before the next one goes).

        Message-IDs are unique within a batch (results are matched to messages by them).
        """
        turns = Turns(batch, self._request_size(), self._pace())
        results: dict[str, SendResult] = {}
        lock = threading.Lock()

        def note(result: SendResult) -> None:
            with lock:
                results[result.message_id] = result
            if result.status == "deferred":  # the relay's fault: the rest would fail alike
                turns.stop(result.detail)
            report(result, on_result)

        turns.run(lambda request: self.send_request(request, note), self.parallel,
                  f"mailer-{self.name}")
        for email in batch:
            if email.message_id not in results:
                if turns.stopped is None:
                    raise RuntimeError(f"{self!r} gave no result for {email.message_id}")
                note(deferred(email, f"not tried: {turns.stopped}"))
        return [results[email.message_id] for email in batch]

    @abstractmethod
    def send_request(self, emails: Sequence[OutgoingEmail], on_result: OnResult) -> None:
        """Send one request (``request_size`` messages at most), reporting each message's
        result to ``on_result`` as soon as it is known; called by ``send_messages`` only."""

    def _pace(self) -> Pace:
        if self.pace is not None:
            return self.pace
        if self._own_pace is None:
            rate = self.options.max_rate
            self._own_pace = LocalPace(rate) if rate > 0 else NO_PACE
        return self._own_pace

    def _request_size(self) -> int:
        rate = self.options.max_rate
        return min(self.request_size, max(1, int(rate))) if rate > 0 else self.request_size

    def secret(self, key: str) -> str:
        """``NEWSLETTER_MAILER_<NAME>_<KEY>`` from the environment ("" when unset)."""
        return self._env.secrets.get(f"MAILER_{env_name(self.name)}_{key}")

    def secret_name(self, key: str) -> str:
        return f"NEWSLETTER_MAILER_{env_name(self.name)}_{key}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def env_name(name: str) -> str:
    """A mailer name as it appears in environment variable names."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def backend_class(backend: str, where: str) -> type[Mailer]:
    """The class registered for ``backend``; ConfigError naming ``where`` when unknown."""
    target = BACKENDS.get(backend)
    if target is None:
        known = ", ".join(sorted(BACKENDS))
        raise ConfigError(f"{where}: unknown mailer backend {backend!r} (known: {known})")
    module_name, _, attr = target.partition(":")
    cls: type[Mailer] = getattr(importlib.import_module(module_name), attr)
    return cls


def create_mailer(
    name: str, settings: MailerSettings, env: MailerEnv, *, origin: str = "config"
) -> Mailer:
    """Build the named mailer, validating its options against the backend's options type."""
    cls = backend_class(settings.backend, f"{origin}: key 'mailers.{name}.backend'")
    options = build(cls.options_type, settings.options, f"mailers.{name}", origin)
    return cls(name, options, env)


def mailer_from_config(config: Config, name: str | None = None) -> Mailer:
    """The mailer called ``name`` (default: ``delivery.mailer``) from ``[mailers.NAME]``."""
    name = name or config.delivery.mailer
    settings = config.mailers.get(name)
    if settings is None:
        known = ", ".join(sorted(config.mailers)) or "none"
        raise ConfigError(
            f"{config.origin}: mailer {name!r} is not configured "
            f"(add a [mailers.{name}] table; configured: {known})"
        )
    env = MailerEnv(config.secrets, config.base_dir)
    return create_mailer(name, settings, env, origin=config.origin)


def share_pace(mailer: Mailer, engine: Engine) -> Mailer:
    """``mailer``, its ``max_rate`` now kept in one pace per mailer name: one row that every
    process shares when ``engine`` is PostgreSQL, else one object for this process. A mailer
    that already has a pace keeps it."""
    if mailer.pace is None:
        mailer.pace = pace_for(engine, f"mailer:{mailer.name}", mailer.options.max_rate)
    return mailer


def sent(email: OutgoingEmail, provider_id: str | None = None, detail: str = "") -> SendResult:
    return SendResult(email.message_id, "sent", detail, provider_id)


def transient(email: OutgoingEmail, detail: str) -> SendResult:
    return SendResult(email.message_id, "transient", detail)


def deferred(email: OutgoingEmail, detail: str) -> SendResult:
    """The relay failed (unreachable, stalled, refusing our sender): not the message's fault."""
    return SendResult(email.message_id, "deferred", detail)


def permanent(email: OutgoingEmail, detail: str, *, bounce: bool = False) -> SendResult:
    return SendResult(email.message_id, "permanent", detail, bounce=bounce)


def report(result: SendResult, on_result: OnResult | None) -> SendResult:
    """Pass ``result`` to the callback (when given) and return it."""
    if on_result is not None:
        on_result(result)
    return result
