"""The mailer contract (open, close, context manager, send a batch) and the registry of backends.

Backends are looked up by name in ``BACKENDS`` and imported lazily; each declares a frozen
options dataclass, so an unknown or mistyped option is a ``ConfigError`` naming its key.
"""

from __future__ import annotations

import importlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

from newsletter.config import Config, MailerSettings, Secrets
from newsletter.errors import ConfigError
from newsletter.models import OutgoingEmail, SendResult
from newsletter.settings_schema import build

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


@dataclass(frozen=True)
class NoOptions:
    """For backends that take no options."""


class Mailer(ABC):
    """One way of handing messages to the mail system; reusable across batches until closed."""

    options_type: ClassVar[type[Any]] = NoOptions
    reaches_inboxes: ClassVar[bool] = False  # True for backends that deliver to real readers

    def __init__(self, name: str, options: Any, env: MailerEnv) -> None:
        self.name = name
        self.options = options
        self._env = env

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

    @abstractmethod
    def send_messages(
        self, batch: Sequence[OutgoingEmail], on_result: OnResult | None = None
    ) -> list[SendResult]:
        """Send ``batch``; one result per message in order, each reported to ``on_result``
        as soon as it is known (so the caller can record it before the next one goes)."""

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
