"""What an SMTP reply means for a message: sent, retry, fail, or a hard bounce."""

from __future__ import annotations

import re

from newsletter.delivery.base import permanent, sent, transient
from newsletter.models import OutgoingEmail, SendResult

_QUEUE_ID = re.compile(rb"queued as (\S+)", re.IGNORECASE)
_ENHANCED = re.compile(rb"^([245])\.(\d{1,3})\.(\d{1,3})\b")
_NO_SUCH_USER = {550, 551, 553}


def _text(reply: bytes | str) -> str:
    raw = reply if isinstance(reply, str) else reply.decode("utf-8", "replace")
    return " ".join(raw.split())[:300]


def delivered(email: OutgoingEmail, reply: bytes) -> SendResult:
    """The server took the message; its queue id, when it names one, is the provider id."""
    found = _QUEUE_ID.search(reply)
    queue_id = found.group(1).decode("ascii", "replace") if found else None
    return sent(email, provider_id=queue_id, detail=f"250 {_text(reply)}")


def classify(email: OutgoingEmail, stage: str, code: int, reply: bytes | str) -> SendResult:
    """4xx: retry. 5xx: give up, and at RCPT a 550/551/553 or 5.1.x is a hard bounce.

    A 552 at RCPT is treated as 452 (too many recipients), as RFC 5321 section 4.5.3.1.10 asks.
    """
    detail = f"{stage} {code} {_text(reply)}"
    if 500 <= code < 600 and not (stage == "RCPT" and code == 552):
        return permanent(email, detail, bounce=stage == "RCPT" and _hard(code, reply))
    return transient(email, detail)


def _hard(code: int, reply: bytes | str) -> bool:
    raw = reply.encode() if isinstance(reply, str) else reply
    enhanced = _ENHANCED.match(raw.strip())
    if enhanced:
        return enhanced.group(1) == b"5" and enhanced.group(2) == b"1"
    return code in _NO_SUCH_USER

