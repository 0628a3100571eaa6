"""The mailer a command sends with: the configured one, refused when it would deliver nothing
or would carry links that no reader can open."""

from __future__ import annotations

from urllib.parse import urlsplit

from newsletter.config import Config
from newsletter.delivery.base import Mailer, mailer_from_config
from newsletter.delivery.memory import MemoryMailer
from newsletter.errors import ConfigError

__all__ = ["Mailer", "configured_mailer", "sending_mailer"]
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "0.0.0.0")


def configured_mailer(config: Config, name: str | None = None) -> Mailer:
    """``[mailers.NAME]`` (default: ``delivery.mailer``), checked, whatever it reaches."""
    return mailer_from_config(config, name)


def sending_mailer(config: Config, name: str | None = None) -> Mailer:
    """The mailer that will send, refused when it would deliver nothing or wrong links.

    The memory backend keeps messages in the process (tests use it directly); a backend that
    reaches real inboxes needs ``newsletter.base_url``, or every link would point here.
    """
    mailer = mailer_from_config(config, name)
    where = f"{config.origin}: mailer {mailer.name!r}"
    if isinstance(mailer, MemoryMailer):
        raise ConfigError(
            f"{where} is the memory backend, which keeps messages in this process and delivers "
            "nothing; use the 'file' or 'console' backend to try sending"
        )
    host = urlsplit(config.newsletter.base_url).netloc.rsplit(":", 1)[0]
    if mailer.reaches_inboxes and (host in LOCAL_HOSTS or host.startswith("127.")):
        raise ConfigError(
            f"{config.origin}: key 'newsletter.base_url' is not set to a public address (it is "
            f"{config.newsletter.base_url}); real emails would carry unsubscribe and preferences "
            f"links that no reader can open. Set it before sending with mailer {mailer.name!r}"
        )
    return mailer
