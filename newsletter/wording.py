"""Small helpers for the words people read: counts with the right plural."""

from __future__ import annotations


def count(n: int, word: str, plural: str = "") -> str:
    """``1 paper``, ``2 papers``; ``plural`` for words that do not just take an s."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"
