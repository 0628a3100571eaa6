"""The generic webhook's signature: HMAC-SHA256 over the timestamp and the body.

A request carries ``Newsletter-Timestamp`` (Unix seconds) and ``Newsletter-Signature``
(``v1=`` and the hex HMAC-SHA256, keyed with the shared secret, of ``{timestamp}.{body}``).
A receiver recomputes it over the raw body, compares in constant time, and refuses a
timestamp outside its replay window (``verify``); ``Idempotency-Key`` names the part, so a
repeat after a crash is recognised. See docs/channels.md.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP = "Newsletter-Timestamp"
SIGNATURE = "Newsletter-Signature"
IDEMPOTENCY = "Idempotency-Key"
SCHEME = "v1"
REPLAY_WINDOW = 300  # seconds a receiver should accept a timestamp either side of its clock


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex>``: the HMAC-SHA256 of ``{timestamp}.{body}`` keyed with ``secret``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str, timestamp: int, body: bytes, key: str) -> dict[str, str]:
    return {"Content-Type": "application/json", TIMESTAMP: str(timestamp),
            SIGNATURE: signature(secret, timestamp, body), IDEMPOTENCY: key}


def verify(secret: str, headers: dict[str, str], body: bytes, now: float,
           window: float = REPLAY_WINDOW) -> bool:
    """What a receiver does (``headers`` by lower-case name): True when the signature matches
    and the timestamp lies within ``window`` seconds of ``now``."""
    stamp = headers.get(TIMESTAMP.lower(), "")
    if not stamp.isdigit() or abs(now - int(stamp)) > window:
        return False
    expected = signature(secret, int(stamp), body)
    return hmac.compare_digest(expected, headers.get(SIGNATURE.lower(), ""))
