"""Small helpers for the words people read: counts with the right plural, spans of time, text
clipped at a word."""

from __future__ import annotations

from datetime import timedelta

ELLIPSIS = "\u2026"


def clip(text: str, limit: int, trim: str = "") -> str:
    """``text`` within ``limit`` characters: else cut at a word, the characters in ``trim``
    dropped from the cut end, and an ellipsis added."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(trim) + ELLIPSIS


def count(n: int, word: str, plural: str = "") -> str:
    """``1 paper``, ``2 papers``; ``plural`` for words that do not just take an s."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def duration(span: timedelta) -> str:
    """``48 hours``, or minutes under an hour (rounded down: a link expires then)."""
    minutes = int(span.total_seconds() // 60)
    return count(minutes // 60, "hour") if minutes >= 60 else count(minutes, "minute")
