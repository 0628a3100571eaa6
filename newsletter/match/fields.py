"""Fields a reader names and the words their papers use: "astronomy" -> exoplanet, galaxy, ...

A reader who writes one word for a field ("geology", "robotics", "NLP") means the papers of
that field, and those papers name their objects and methods, rarely the field. The packaged
vocabulary (``fields.json``, written from general knowledge, without looking at any
evaluation data) lists, for each field, the names readers give it and the terms its papers
use; a topic that is a field's name is also scored by those terms, at a discount. An operator
adds or replaces fields with a file of the same shape (``[match] fields``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from newsletter.errors import ConfigError
from newsletter.match.tokens import phrase_words

Vocabulary = Mapping[str, tuple[str, ...]]  # folded field name -> the field's terms
MAX_TERMS = 50  # per field: each term is one more phrase scored for every reader naming it


def key(phrase: str) -> str:
    """A name folded for lookup: case, accents, plurals, hyphens and stopwords."""
    return " ".join(phrase_words(phrase))


@cache
def packaged() -> Vocabulary:
    """The vocabulary shipped with the package."""
    text = resources.files("newsletter.match").joinpath("fields.json").read_text("utf-8")
    return parse(text, "newsletter/match/fields.json")


@cache
def vocabulary(path: str = "") -> Vocabulary:
    """The packaged vocabulary, with the fields of the operator's file at ``path`` added (a
    name given there replaces the packaged field of that name)."""
    if not path:
        return packaged()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"match.fields {path!r}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        problem = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror
        raise ConfigError(f"match.fields {path!r}: cannot read: {problem}") from None
    return {**packaged(), **parse(text, f"match.fields {path!r}")}


def terms(phrase: str, known: Vocabulary | None = None) -> tuple[str, ...]:
    """The terms of the field ``phrase`` names, or () when it names none."""
    return (packaged() if known is None else known).get(key(phrase), ())


def named(topics: Sequence[str], known: Vocabulary, shown: int = 5) -> dict[str, tuple[str, ...]]:
    """The topics that name a field -> a few of its terms (to tell the reader what comes)."""
    return {t: found[:shown] for t in topics if (found := terms(t, known))}


def parse(text: str, origin: str) -> dict[str, tuple[str, ...]]:
    """A vocabulary from JSON text: ``{"fields": [{"names": [...], "terms": [...]}, ...]}``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{origin}: invalid JSON: {exc}") from None
    fields = data.get("fields") if isinstance(data, dict) else None
    if not isinstance(fields, list):
        raise ConfigError(f'{origin}: needs a list under "fields"')
    out: dict[str, tuple[str, ...]] = {}
    owner: dict[str, int] = {}  # folded name -> the field that gave it
    for i, field in enumerate(fields):
        names = _strings(field, "names", f"{origin}: fields[{i}]")
        found = _strings(field, "terms", f"{origin}: fields[{i}]")
        if len(found) > MAX_TERMS:
            raise ConfigError(f"{origin}: fields[{i}].terms has more than {MAX_TERMS} terms")
        for name in names:
            if owner.setdefault(key(name), i) != i:
                raise ConfigError(f"{origin}: fields[{i}]: name {name!r} is given twice")
            out[key(name)] = found
    return out


def _strings(field: Any, name: str, where: str) -> tuple[str, ...]:
    values = field.get(name) if isinstance(field, dict) else None
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}.{name} must be a non-empty list of strings")
    if not all(isinstance(v, str) and key(v) for v in values):
        raise ConfigError(f"{where}.{name} holds an empty or non-string entry")
    return tuple(dict.fromkeys(v.strip() for v in values))
