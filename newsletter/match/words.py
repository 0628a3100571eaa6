"""Turn titles, abstracts and topic phrases into comparable terms: words, light stems, bigrams."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise

_STOPWORDS = """a an and are as at be by can do for from has have how in into is it its of on or our
    that the their this to towards via we what when which while who why with without using
    based new novel approach study paper toward through over under between about than via
    your you i me my use show"""
STOPWORDS = frozenset(_STOPWORDS.split())
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
# Suffixes stripped in order; a stem keeps at least three letters so "bias" stays "bias".
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ed", "es", "s")
_KEEP_S = ("ss", "us", "is", "os", "as")


def fold(text: str) -> str:
    """Case-fold and drop accents so that "Schrödinger" and "schrodinger" agree."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text).casefold()
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately light stemmer: plural and verb endings, then a final "e", never below 3."""
    if word.isdigit() or len(word) <= 3:
        return word
    base = word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(_KEEP_S):
                break
            base = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    if base.endswith("e") and len(base) > 3:
        base = base[:-1]
    return base


def words(text: str) -> list[str]:
    """Stemmed content words of ``text`` in order; hyphenated words also split into parts."""
    out: list[str] = []
    for token in _WORD.findall(fold(text)):
        parts = token.replace("'", "").split("-")
        for part in parts if len(parts) > 1 else [token.replace("'", "")]:
            if part and part not in STOPWORDS:
                out.append(stem(part))
    return out


def surface(text: str) -> list[re.Match[str]]:
    """The content words of ``text`` as written, with their places (for explanations)."""
    return [m for m in re.finditer(r"[\w'-]+", text) if fold(m.group()) not in STOPWORDS]


@lru_cache(maxsize=65536)
def phrase_words(phrase: str) -> tuple[str, ...]:
    """``words`` of a short phrase, remembered: topics recur across subscribers and papers."""
    return tuple(words(phrase))


def terms(text: str) -> list[str]:
    """Unigrams plus adjacent bigrams ("spike neural", "neural network") of ``text``."""
    ws = words(text)
    return ws + [f"{a} {b}" for a, b in pairwise(ws)]


def contains_phrase(haystack: Sequence[str], phrase: Sequence[str]) -> bool:
    """Whether the word sequence ``phrase`` occurs contiguously in ``haystack``."""
    n = len(phrase)
    if n == 0:
        return False
    first, want = phrase[0], list(phrase)
    return any(
        haystack[i] == first and list(haystack[i : i + n]) == want
        for i in range(len(haystack) - n + 1)
    )
