"""Short feedback links for sent issues: ``{base}/f/{row}.{n}{p|m}.{mac}``, about 50 characters.

A feedback link in an issue names the outbox row of that issue (base 36), the paper's place
in it and the judgment (``p`` more like this, ``m`` less), plus an HMAC-SHA256 of those and of
the row's Message-ID, cut to 72 bits: guessing one online, against a rate-limited page, is
hopeless; the code says nothing about the reader; and a row id that SQLite hands out again
after a delete does not make an old link act on someone else's issue. The row gives the
reader, the paper and the age (links expire ``tokens.FEEDBACK_TTL`` after the enqueue). The
long signed tokens stay for issues that have no row (a preview of a day not enqueued).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from newsletter.errors import TokenError
from newsletter.signed_links import PREVIEW_KEY_PREFIX

_VERSION = b"newsletter-feedback-v3"
_CODE = re.compile(r"^([0-9a-z]{1,13})\.([0-9a-z]{1,3})([pm])\.([A-Za-z0-9_-]{12})$")
MAC_BYTES = 9


@dataclass(frozen=True)
class FeedbackCode:
    """What a short feedback link says: which issue row, which paper in it, which judgment."""

    row_id: int
    index: int
    judgment: int
    mac: str


def _mac(secret: str, row_id: int, index: int, judgment: int, bind: str) -> str:
    if not secret:
        raise TokenError("links cannot be checked: NEWSLETTER_SECRET_KEY is not set")
    message = b"|".join((_VERSION, str(row_id).encode(), str(index).encode(),
                         str(judgment).encode(), bind.encode("utf-8")))
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


def code(secret: str, row_id: int, index: int, judgment: int, bind: str) -> str:
    """The code of a "more like this" (+1) or "less like this" (-1) link; ``bind`` is the
    row's Message-ID."""
    if judgment not in (1, -1) or row_id < 0 or not 0 <= index < 36**3:
        raise ValueError("a feedback code needs a row, a place under 46656 and +1 or -1")
    sign = "p" if judgment == 1 else "m"
    mac = _mac(secret, row_id, index, judgment, bind)
    return f"{_b36(row_id)}.{_b36(index)}{sign}.{mac}"


def url(base_url: str, secret: str, row_id: int, index: int, judgment: int, bind: str) -> str:
    """The short feedback link (marked ``preview=1`` when signed with a throwaway key)."""
    tail = "?preview=1" if secret.startswith(PREVIEW_KEY_PREFIX) else ""
    return f"{base_url.rstrip('/')}/f/{code(secret, row_id, index, judgment, bind)}{tail}"


def parse(text: str) -> FeedbackCode:
    """The parts of a code, not yet checked (see ``check``); ``TokenError`` when malformed."""
    m = _CODE.match(text)
    if m is None:
        raise TokenError("the link is damaged (malformed feedback code)")
    judgment = 1 if m.group(3) == "p" else -1
    return FeedbackCode(int(m.group(1), 36), int(m.group(2), 36), judgment, m.group(4))


def check(secret: str, found: FeedbackCode, bind: str) -> None:
    """``TokenError`` unless ``found`` was signed with ``secret`` for the row of ``bind``."""
    expected = _mac(secret, found.row_id, found.index, found.judgment, bind)
    if not hmac.compare_digest(found.mac, expected):
        raise TokenError("the link is not valid (bad signature)")


def looks_short(text: str) -> bool:
    """Whether ``text`` is a short code rather than a long signed token."""
    return _CODE.match(text) is not None
