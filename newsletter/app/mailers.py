"""The mailer a command sends with: the configured one, refused when it would deliver nothing
or would carry links that no reader can open; and the signing key every sender needs, checked
before anything is fetched or sent.

A local trial is allowed: an SMTP relay on this machine (a loopback address, such as a test
sink or a local Postfix) may take messages whose links point to a local ``base_url``, and the
commands say so plainly (``local_trial``).
"""

from __future__ import annotations

from ipaddress import ip_address
from urllib.parse import urlsplit

from newsletter.config import Config
from newsletter.delivery.base import Mailer, mailer_from_config
from newsletter.delivery.memory import MemoryMailer
from newsletter.delivery.smtp import SmtpMailer
from newsletter.errors import ConfigError

__all__ = ["Mailer", "configured_mailer", "local_trial", "require_secret", "sending_mailer"]
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1", "0.0.0.0")
NO_SECRET = (
    "environment variable NEWSLETTER_SECRET_KEY is not set: it signs the unsubscribe, "
    "preferences and feedback links of every issue (python -c 'import secrets; "
    "print(secrets.token_urlsafe(32))' makes one)"
)


def configured_mailer(config: Config, name: str | None = None) -> Mailer:
    """``[mailers.NAME]`` (default: ``delivery.mailer``), checked, whatever it reaches."""
    return mailer_from_config(config, name)


def is_local(host: str) -> bool:
    """Whether ``host`` names this machine (a loopback address or localhost)."""
    host = host.strip("[]").lower()
    if host in LOCAL_HOSTS or host.endswith(".localhost"):
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def local_relay(mailer: Mailer) -> str:
    """``host:port`` of an SMTP mailer that relays to this machine, else ""."""
    if not isinstance(mailer, SmtpMailer) or not is_local(mailer.options.host):
        return ""
    return f"{mailer.options.host}:{mailer.options.effective_port}"


def sending_mailer(config: Config, name: str | None = None) -> Mailer:
    """The mailer that will send, refused when it would deliver nothing or wrong links.

    The memory backend keeps messages in the process (tests use it directly); a backend that
    reaches real inboxes needs ``newsletter.base_url``, or every link would point here, unless
    it is an SMTP relay on this machine too (a local trial).
    """
    mailer = mailer_from_config(config, name)
    where = f"{config.origin}: mailer {mailer.name!r}"
    if isinstance(mailer, MemoryMailer):
        raise ConfigError(
            f"{where} is the memory backend, which keeps messages in this process and delivers "
            "nothing; use the 'file' or 'console' backend to try sending"
        )
    host = urlsplit(config.newsletter.base_url).hostname or ""
    if mailer.reaches_inboxes and is_local(host) and not local_relay(mailer):
        raise ConfigError(
            f"{config.origin}: key 'newsletter.base_url' is not set to a public address (it is "
            f"{config.newsletter.base_url}); real emails would carry unsubscribe and preferences "
            f"links that no reader can open. Set it before sending with mailer {mailer.name!r} "
            "(or, for a trial on this machine, send to an SMTP relay on 127.0.0.1)"
        )
    return mailer


def local_trial(config: Config, mailer: Mailer) -> str:
    """One plain sentence when ``mailer`` is a relay on this machine and the links point to
    this machine too (a local trial), else ""."""
    relay, host = local_relay(mailer), urlsplit(config.newsletter.base_url).hostname or ""
    if not relay or not is_local(host):
        return ""
    return (f"local trial: mailer {mailer.name!r} hands messages to the SMTP relay at {relay} "
            f"on this machine, and their links point to {config.newsletter.base_url}, which only "
            "this machine can open; set newsletter.base_url to a public address before real "
            "readers get them")


def require_secret(config: Config) -> None:
    """ConfigError unless NEWSLETTER_SECRET_KEY is set: every issue's links are signed with it,
    so a command that sends checks it before it fetches or sends anything."""
    if not config.secrets.get("SECRET_KEY"):
        raise ConfigError(NO_SECRET)
