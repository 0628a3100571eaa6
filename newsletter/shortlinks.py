"""Short feedback links for sent issues: ``{base}/f/{row}.{n}{p|m}.{mac}``, about 50 characters.

A feedback link in an issue names the outbox row of that issue (base 36), the paper's place
in it and the judgment (``p`` more like this, ``m`` less), plus an HMAC-SHA256 of those, cut
to 72 bits: guessing one online, against a rate-limited page, is hopeless, and the code says
nothing about the reader. The row gives the reader, the paper and the age (links expire with
``tokens.FEEDBACK_TTL`` after the issue was enqueued). The long signed tokens stay for issues
that have no row (a preview of a day not enqueued).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from newsletter.errors import TokenError
from newsletter.tokens import PREVIEW_KEY_PREFIX

_VERSION = b"newsletter-feedback-v2"
_CODE = re.compile(r"^([0-9a-z]{1,13})\.([0-9a-z]{1,3})([pm])\.([A-Za-z0-9_-]{12})$")
MAC_BYTES = 9


@dataclass(frozen=True)
class FeedbackCode:
    """What a short feedback link says: which issue row, which paper in it, which judgment."""

    row_id: int
    index: int
    judgment: int


def _mac(secret: str, row_id: int, index: int, judgment: int) -> str:
    if not secret:
        raise TokenError("links cannot be checked: NEWSLETTER_SECRET_KEY is not set")
    message = b"|".join((_VERSION, str(row_id).encode(), str(index).encode(),
                         str(judgment).encode()))
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def code(secret: str, row_id: int, index: int, judgment: int) -> str:
    """The code of a "more like this" (+1) or "less like this" (-1) link."""
    if judgment not in (1, -1) or row_id < 0 or not 0 <= index < 36**3:
        raise ValueError("a feedback code needs a row, a place under 46656 and +1 or -1")
    sign = "p" if judgment == 1 else "m"
    return f"{_b36(row_id)}.{_b36(index)}{sign}.{_mac(secret, row_id, index, judgment)}"


def url(base_url: str, secret: str, row_id: int, index: int, judgment: int) -> str:
    """The short feedback link (marked ``preview=1`` when signed with a throwaway key)."""
    tail = "?preview=1" if secret.startswith(PREVIEW_KEY_PREFIX) else ""
    return f"{base_url.rstrip('/')}/f/{code(secret, row_id, index, judgment)}{tail}"


def read(secret: str, text: str) -> FeedbackCode:
    """The row, place and judgment of a genuine code; ``TokenError`` otherwise."""
    m = _CODE.match(text)
    if m is None:
        raise TokenError("the link is damaged (malformed feedback code)")
    row_id, index = int(m.group(1), 36), int(m.group(2), 36)
    judgment = 1 if m.group(3) == "p" else -1
    if not hmac.compare_digest(m.group(4), _mac(secret, row_id, index, judgment)):
        raise TokenError("the link is not valid (bad signature)")
    return FeedbackCode(row_id, index, judgment)


def looks_short(text: str) -> bool:
    """Whether ``text`` is a short code rather than a long signed token."""
    return _CODE.match(text) is not None
