"""Where and how each kind of channel is posted: the request for one part of an issue.

Secrets (a webhook URL, a token, a signing key) come from the environment variables the
channel's settings name, and never appear in a result, a log line or an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from newsletter.config import ChannelSettings, Secrets
from newsletter.delivery.channels.signing import signed_headers

JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Target:
    """One HTTP request: method, URL (a secret for webhooks), headers and body."""

    method: str
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def missing(settings: ChannelSettings, secrets: Secrets) -> str:
    """The first environment variable the channel needs that is not set, else ""."""
    return next((v for v in settings.env_names() if not secrets.named(v)), "")


def target(settings: ChannelSettings, secrets: Secrets, body: str, key: str,
           now: int) -> Target:
    """The request posting ``body``; ``key`` names this part of this issue for good (the
    Matrix transaction id, the webhook's idempotency key), ``now`` is Unix time."""
    data = body.encode()
    kind = settings.kind
    if kind in ("slack", "teams"):
        return Target("POST", secrets.named(settings.url_env), data, JSON)
    if kind == "discord":  # wait=true: Discord answers with the message once it is posted
        url = secrets.named(settings.url_env)
        return Target("POST", url + ("&" if "?" in url else "?") + "wait=true", data, JSON)
    if kind == "matrix":
        token = secrets.named(settings.token_env)
        url = (f"{settings.homeserver.rstrip('/')}/_matrix/client/v3/rooms/"
               f"{quote(settings.room, safe='')}/send/m.room.message/{quote(key, safe='')}")
        return Target("PUT", url, data, {**JSON, "Authorization": f"Bearer {token}"})
    if kind == "telegram":
        token = secrets.named(settings.token_env)
        url = f"{settings.api_base.rstrip('/')}/bot{token}/sendMessage"
        return Target("POST", url, data, JSON)
    if kind == "webhook":
        secret = secrets.named(settings.secret_env)
        url = secrets.named(settings.url_env)
        return Target("POST", url, data, signed_headers(secret, now, data, key))
    raise ValueError(f"unknown channel kind {kind!r}")
