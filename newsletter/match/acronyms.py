"""Acronyms learnt from the papers themselves: "spiking neural networks (SNNs)" teaches SNN.

A reader who writes "SNN" or "deep RL" means what the field means by it; the papers of the
day spell that out where they define the acronym, so a topic is also scored in its expanded
form ("spiking neural network", "deep reinforcement learning").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

_DEFINED = re.compile(r"\(([A-Z][A-Za-z0-9-]{0,9}[A-Z0-9])s?\)")
_WORD = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_LOOKBACK = 200  # characters before "(ACR)" searched for its long form


def definitions(texts: Iterable[str]) -> dict[str, str]:
    """Each acronym defined in ``texts`` -> its most frequent long form (singular, lower case)."""
    seen: dict[str, Counter[str]] = {}
    for text in texts:
        for m in _DEFINED.finditer(text):
            acronym = m.group(1)
            if sum(c.isupper() for c in acronym) < 2:
                continue
            long_form = _long_form(acronym, text[max(0, m.start() - _LOOKBACK) : m.start()])
            if long_form:
                seen.setdefault(acronym, Counter())[_singular(long_form)] += 1
    return {acronym: forms.most_common(1)[0][0] for acronym, forms in seen.items()}


def expand(phrase: str, known: Mapping[str, str]) -> str | None:
    """``phrase`` with each known acronym spelt out; None when it holds none."""

    def one(m: re.Match[str]) -> str:
        word = m.group(0)
        return known.get(word) or (known.get(word[:-1], word) if word.endswith("s") else word)

    out = _TOKEN.sub(one, phrase)
    return out if out != phrase else None


def _long_form(acronym: str, before: str) -> str | None:
    """The shortest run of words ending right before the parenthesis whose initials spell the
    acronym's letters in order, starting with its first letter (Schwartz and Hearst's rule)."""
    letters = [c.lower() for c in acronym if c.isalpha()]
    words = _WORD.findall(before)[-(len(letters) + 2) :]
    for k in range(1, len(words) + 1):
        run = words[-k:]
        initials = "".join(part[0] for w in run for part in w.split("-") if part).lower()
        if run[0][0].lower() == letters[0] and _in_order(letters, initials):
            return " ".join(run).lower() if k <= len(letters) + 1 else None
    return None


def _in_order(letters: list[str], initials: str) -> bool:
    rest = iter(initials)
    return all(letter in rest for letter in letters)


def _singular(text: str) -> str:
    return text[:-1] if text.endswith("s") and not text.endswith("ss") else text
