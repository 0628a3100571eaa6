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
import logging
import re
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from newsletter.errors import ConfigError
from newsletter.match.words import fold

log = logging.getLogger(__name__)
Vocabulary = Mapping[str, tuple[str, ...]]  # folded field name -> the field's terms
MAX_TERMS = 50  # per field: each term is one more phrase scored for every reader naming it
MAX_BYTES = 5_000_000  # an operator's file; the packaged one is about 160 kB
_TOKEN = re.compile(r"[a-z0-9]+")


def key(phrase: str) -> str:
    """A name folded for lookup: case, accents, punctuation and plurals. Words are not stemmed
    and stopwords stay, so that "sensing" is not "sense" and "OR/MS" is not "MS"."""
    return " ".join(_singular(w) for w in _TOKEN.findall(fold(phrase)) if w != "s")


def _singular(word: str) -> str:
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    return word[:-3] + "y" if word.endswith("ies") else word[:-1]


@cache
def packaged() -> Vocabulary:
    """The vocabulary shipped with the package."""
    text = resources.files("newsletter.match").joinpath("fields.json").read_text("utf-8")
    return parse(text, "newsletter/match/fields.json")


def vocabulary(path: str = "") -> Vocabulary:
    """The packaged vocabulary, with the fields of the operator's file at ``path`` added: a
    name given there replaces that name's terms (the field's other names keep theirs). A
    changed file is read again by the next call."""
    if not path:
        return packaged()
    where = f"match.fields {path!r}"
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from None
    if stat.st_size > MAX_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_BYTES:,} bytes")
    found = _operator(path, stat.st_mtime_ns, stat.st_size)
    if isinstance(found, ConfigError):
        raise ConfigError(str(found))  # a new one: a kept exception would collect tracebacks
    return found


class Live:
    """The vocabulary of the operator's file as it is now, for long-running processes
    (``serve``): an edited file is read again on the next use, at the cost of a stat. A file
    that became unreadable keeps the last good vocabulary and says so once in the log; a bad
    file at the start is an error (``ConfigError``)."""

    def __init__(self, path: str = "", start: Vocabulary | None = None) -> None:
        self.path = path
        self._good = vocabulary(path) if start is None else start  # ``start``: a parent's
        self._said = ""

    def current(self) -> Vocabulary:
        try:
            self._good = vocabulary(self.path)
            self._said = ""
        except ConfigError as exc:
            if str(exc) != self._said:
                self._said = str(exc)
                log.warning("%s; keeping the fields read before", exc)
        return self._good


@lru_cache(maxsize=8)
def _operator(path: str, mtime_ns: int, size: int) -> Vocabulary | ConfigError:
    """The file's vocabulary, or its error: kept either way until the file changes."""
    where = f"match.fields {path!r}"
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a byte-order mark is allowed
    except (OSError, UnicodeDecodeError) as exc:
        problem = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror
        return ConfigError(f"{where}: cannot read: {problem}")
    try:
        return {**packaged(), **parse(text, where)}
    except ConfigError as exc:
        return exc


def terms(phrase: str, known: Vocabulary | None = None) -> tuple[str, ...]:
    """The terms of the field ``phrase`` names, or () when it names none."""
    return (packaged() if known is None else known).get(key(phrase), ())


def named(
    topics: Sequence[str], known: Vocabulary, shown: int = 5
) -> dict[str, tuple[tuple[str, ...], int]]:
    """The topics that name a field -> a few of its terms and how many it has (to tell the
    reader what else comes)."""
    return {t: (found[:shown], len(found)) for t in topics if (found := terms(t, known))}


def parse(text: str, origin: str) -> dict[str, tuple[str, ...]]:
    """A vocabulary from JSON text: ``{"fields": [{"names": [...], "terms": [...]}, ...]}``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{origin}: invalid JSON: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{origin}: invalid JSON: nested too deeply") from None
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
    if not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}.{name} holds an entry that is not a string")
    if not all(key(v) for v in values):
        raise ConfigError(f"{where}.{name} holds an entry with no letters or digits")
    return tuple(dict.fromkeys(v.strip() for v in values))
