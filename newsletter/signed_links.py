"""HMAC-SHA256 signed, expiring, purpose-bound URL-safe tokens and the signed links built on them.

A token is ``base64url(json claims) "." base64url(mac)``; the MAC covers the purpose too, so a
feedback token can never be replayed as an unsubscribe token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from newsletter.errors import ConfigError, TokenError

UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"
FEEDBACK = "feedback"
ARCHIVE = "archive"  # read-only: the web copy of an issue, the archive and the feed
# Unsubscribe links must keep working long after the email arrives (RFC 8058 mail sits in
# inboxes for months); preference and feedback links are less sensitive to age.
UNSUBSCRIBE_TTL = timedelta(days=400)
PREFERENCES_TTL = timedelta(days=90)
FEEDBACK_TTL = timedelta(days=90)
ARCHIVE_TTL = timedelta(days=400)  # the web copy is linked from the message (Archived-At)
_VERSION = b"newsletter-token-v1"


@dataclass(frozen=True)
class Claims:
    """What a valid token says: its purpose, its subject (an email address), when it expires."""

    purpose: str
    subject: str
    expires: datetime
    data: dict[str, str] = field(default_factory=dict)


def _key(secret: str) -> bytes:
    if not secret:
        raise ConfigError("environment variable NEWSLETTER_SECRET_KEY is not set (it signs links)")
    return secret.encode("utf-8")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, body: str) -> bytes:
    message = b"|".join((_VERSION, purpose.encode("utf-8"), body.encode("ascii")))
    return hmac.new(_key(secret), message, hashlib.sha256).digest()


def sign(
    secret: str,
    purpose: str,
    subject: str,
    *,
    now: datetime,
    ttl: timedelta,
    data: dict[str, str] | None = None,
) -> str:
    """A token for ``subject`` usable only for ``purpose`` until ``now + ttl``."""
    claims: dict[str, Any] = {"p": purpose, "s": subject, "x": int((now + ttl).timestamp())}
    if data:
        claims["d"] = data
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{body}.{_b64(_mac(secret, purpose, body))}"


def verify(secret: str, purpose: str, token: str, *, now: datetime) -> Claims:
    """The claims of a genuine, unexpired ``purpose`` token; ``TokenError`` otherwise."""
    body, _, mac = token.partition(".")
    try:
        given = _unb64(mac)
        ascii_body = body.encode("ascii")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise TokenError("the link is damaged (malformed token)") from None
    if not body or not hmac.compare_digest(given, _mac(secret, purpose, ascii_body.decode())):
        raise TokenError("the link is not valid (bad signature)")
    claims = _decode(body)
    expires = datetime.fromtimestamp(claims["x"], UTC)
    if now >= expires:
        raise TokenError(f"the link expired on {expires:%Y-%m-%d}")
    return Claims(claims["p"], claims["s"], expires, dict(claims.get("d", {})))


def _decode(body: str) -> dict[str, Any]:
    try:
        claims = json.loads(_unb64(body))
    except (binascii.Error, ValueError):
        raise TokenError("the link is damaged (unreadable token)") from None
    if not isinstance(claims, dict) or not {"p", "s", "x"} <= claims.keys():
        raise TokenError("the link is damaged (incomplete token)")
    return claims


PREVIEW_KEY_PREFIX = "preview-"  # a throwaway key for local previews; its links say preview=1


def _url(base_url: str, path: str, token: str, secret: str) -> str:
    query = {"token": token} | ({"preview": "1"} if secret.startswith(PREVIEW_KEY_PREFIX) else {})
    return f"{base_url.rstrip('/')}/{path}?{urlencode(query, quote_via=quote)}"


def unsubscribe_url(
    base_url: str, secret: str, email: str, *, now: datetime, ttl: timedelta = UNSUBSCRIBE_TTL
) -> str:
    """The one-click unsubscribe link (``GET`` shows a page, ``POST`` unsubscribes: RFC 8058)."""
    token = sign(secret, UNSUBSCRIBE, email, now=now, ttl=ttl)
    return _url(base_url, "unsubscribe", token, secret)


def preferences_url(
    base_url: str, secret: str, email: str, *, now: datetime, ttl: timedelta = PREFERENCES_TTL
) -> str:
    """The link to a subscriber's preferences page."""
    token = sign(secret, PREFERENCES, email, now=now, ttl=ttl)
    return _url(base_url, "preferences", token, secret)


def feedback_url(
    base_url: str,
    secret: str,
    email: str,
    paper_key: str,
    judgment: int,
    *,
    now: datetime,
    ttl: timedelta = FEEDBACK_TTL,
) -> str:
    """A "more like this" (+1) or "less like this" (-1) link for one paper."""
    if judgment not in (1, -1):
        raise ValueError("judgment must be +1 or -1")
    data = {"paper": paper_key, "j": str(judgment)}
    token = sign(secret, FEEDBACK, email, now=now, ttl=ttl, data=data)
    return _url(base_url, "feedback", token, secret)


def web_copy_url(
    base_url: str, secret: str, email: str, issue_id: str, *, now: datetime,
    ttl: timedelta = ARCHIVE_TTL,
) -> str:
    """The read-only web copy of one issue; its token names the issue, so a forwarded email
    shows that issue (and links to the reader's archive, as the email itself does)."""
    token = sign(secret, ARCHIVE, email, now=now, ttl=ttl, data={"issue": issue_id})
    return _url(base_url, f"issues/{quote(issue_id, safe='')}", token, secret)


def archive_url(
    base_url: str, secret: str, email: str, *, now: datetime, ttl: timedelta = ARCHIVE_TTL
) -> str:
    """The read-only list of a reader's past issues."""
    return _url(base_url, "archive", sign(secret, ARCHIVE, email, now=now, ttl=ttl), secret)


def feed_url(
    base_url: str, secret: str, email: str, *, now: datetime, ttl: timedelta = ARCHIVE_TTL
) -> str:
    """The reader's private Atom feed of their issues (read-only)."""
    return _url(base_url, "feed.atom", sign(secret, ARCHIVE, email, now=now, ttl=ttl), secret)
