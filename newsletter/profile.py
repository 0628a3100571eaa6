"""A subscriber's profile, declared once: each field's kind, bounds, default and help.

The TOML loader, the store, the web forms and the CLI read and write profiles through this
schema, so a new field is declared here (and on ``models.Subscriber``) and nowhere else.
Every validation error is one line naming the origin (a file or "web") and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsletter import addresses, library
from newsletter.errors import SubscriberError
from newsletter.models import ARXIV_ID, Subscriber

Kind = Literal[
    "email", "text", "phrases", "arxiv", "library", "int", "bool", "choice", "zone", "time", "day"
]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SEND_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_PHRASE = 200
MAX_KEY = 300  # a stored paper key's length
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tab and newline aside


def _unsafe(text: str) -> bool:
    """True for control characters (tab and newline aside) or lone surrogates, which no
    database or mail header can carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return CONTROL.search(text) is not None


@dataclass(frozen=True)
class Field:
    """One profile field: how it is checked, its default, and the help a person reads."""

    name: str
    kind: Kind
    default: Any
    help: str
    low: int = 0
    high: int = 0
    options: tuple[str, ...] = ()
    flag: str = ""  # the CLI option (singular for lists); empty: not a CLI option


FIELDS: tuple[Field, ...] = (
    Field("email", "email", None, "The reader's email address.", flag="email"),
    Field("name", "text", "", "How the email greets the reader.", high=200, flag="name"),
    Field("topics", "phrases", (), "Interests, one phrase each.", high=50, flag="topic"),
    Field("exclude", "phrases", (), "Phrases never to be sent.", high=50, flag="exclude"),
    Field("authors", "phrases", (), "Authors to follow.", high=50, flag="author"),
    Field("papers", "arxiv", (), "Liked papers by arXiv id.", high=200, flag="paper"),
    Field(
        "library",
        "library",
        (),
        "Your library as liked papers: a Zotero export (BibTeX, RIS, CSL-JSON) or a file of "
        "arXiv ids, relative to the subscriber file.",
        high=library.MAX_ENTRIES,
    ),
    Field("max_papers", "int", 10, "Most papers in one issue.", 1, 100, flag="max-papers"),
    Field("min_upvotes", "int", 0, "Skip papers with fewer upvotes.", 0, 1_000_000),
    Field("timezone", "zone", "UTC", "IANA timezone of send_at.", flag="timezone"),
    Field("send_at", "time", time(7, 0), "Local time of day, HH:MM.", flag="send-at"),
    Field(
        "frequency", "choice", "daily", "How often.", options=("daily", "weekly"), flag="frequency"
    ),
    Field("weekday", "day", 0, "The day of a weekly issue.", options=WEEKDAYS, flag="weekday"),
    Field("active", "bool", True, "False pauses the subscription."),
)
BY_NAME = {f.name: f for f in FIELDS}


def from_dict(data: Mapping[str, Any], origin: str) -> Subscriber:
    """Validate a parsed profile (a TOML file, a form, a stored row); ``origin`` names it."""
    for key in data:
        if key not in BY_NAME:
            known = ", ".join(BY_NAME)
            raise SubscriberError(f"{origin}: unknown field '{key}' (known: {known})")
    if "email" not in data:
        raise SubscriberError(f"{origin}: field 'email' is missing")
    values = {f.name: _CHECKS[f.kind](f, data.get(f.name, f.default), origin) for f in FIELDS}
    if values["frequency"] == "weekly" and "weekday" not in data:
        raise _fail(origin, "weekday", "a weekly issue needs its day (monday ... sunday)")
    if not values["topics"] and not values["papers"] and not values["library"]:
        raise _fail(
            origin, "topics", 'is empty; give at least one phrase such as "spiking neural networks"'
        )
    return Subscriber(**values, origin=origin)


def to_data(sub: Subscriber) -> dict[str, Any]:
    """A profile as plain data (lists, "HH:MM", day names) that ``from_dict`` reads back."""
    data: dict[str, Any] = {}
    for f in FIELDS:
        value = getattr(sub, f.name)
        if f.kind in ("phrases", "arxiv", "library"):
            value = list(value)
        elif f.kind == "time":
            value = f"{value:%H:%M}"
        elif f.kind == "day":
            value = WEEKDAYS[value]
        data[f.name] = value
    return data


def from_stored(data: Mapping[str, Any], origin: str) -> Subscriber:
    """A profile the store wrote with ``to_data`` (trusted: converted, not re-validated)."""
    values: dict[str, Any] = {}
    for f in FIELDS:
        raw = data.get(f.name, f.default)
        if f.kind in ("phrases", "arxiv", "library"):
            raw = tuple(raw)
        elif f.kind == "time" and isinstance(raw, str):
            raw = time(int(raw[:2]), int(raw[3:5]))
        elif f.kind == "day" and isinstance(raw, str):
            raw = WEEKDAYS.index(raw)
        values[f.name] = raw
    return Subscriber(**values, origin=origin)


def to_toml(sub: Subscriber) -> str:
    """A profile as the TOML an operator would write."""
    return "".join(f"{name} = {_toml(value)}\n" for name, value in to_data(sub).items())


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(x) for x in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _fail(origin: str, field: str, problem: str) -> SubscriberError:
    return SubscriberError(f"{origin}: field '{field}': {problem}")


def _email(f: Field, raw: Any, origin: str) -> str:
    if not isinstance(raw, str) or not addresses.is_valid(raw):
        raise _fail(origin, f.name, f"not a valid email address: {raw!r}")
    return raw.strip()


def _text(f: Field, raw: Any, origin: str) -> str:
    if not isinstance(raw, str):
        raise _fail(origin, f.name, f"must be a string, not {raw!r}")
    if _unsafe(raw):
        raise _fail(origin, f.name, "must not hold control characters or broken Unicode")
    if f.high and len(raw.strip()) > f.high:
        raise _fail(origin, f.name, f"is longer than {f.high} characters")
    return raw.strip()


def _phrases(f: Field, raw: Any, origin: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not all(isinstance(x, str) for x in raw):
        raise _fail(origin, f.name, "must be a list of strings")
    if any(_unsafe(x) for x in raw):
        raise _fail(origin, f.name, "must not hold control characters or broken Unicode")
    items = tuple(dict.fromkeys(" ".join(x.split()) for x in raw if x.strip()))
    if any(len(x) > MAX_PHRASE for x in items):
        raise _fail(origin, f.name, f"a phrase is longer than {MAX_PHRASE} characters")
    if f.high and len(items) > f.high:
        raise _fail(origin, f.name, f"at most {f.high} entries (got {len(items)})")
    return items


def _arxiv(f: Field, raw: Any, origin: str) -> tuple[str, ...]:
    ids = []
    for item in _phrases(f, raw, origin):
        value = item.removeprefix("arxiv:").removeprefix("arXiv:")
        if not ARXIV_ID.match(value):
            raise _fail(origin, f.name, f"not an arXiv id (like 2401.01234): {item!r}")
        ids.append(value)
    return tuple(ids)


def _library(f: Field, raw: Any, origin: str) -> tuple[str, ...]:
    """A file (read now, relative to the subscriber file) or its keys as stored."""
    if isinstance(raw, str):
        return _library_file(f, raw, origin)
    if not isinstance(raw, list | tuple) or not all(isinstance(x, str) for x in raw):
        raise _fail(origin, f.name, "must be a file name or a list of arXiv ids")
    if len(raw) > f.high:
        raise _fail(origin, f.name, f"at most {f.high} entries (got {len(raw)})")
    keys = []
    for item in dict.fromkeys(x.strip() for x in raw if x.strip()):
        key = f"arxiv:{item}" if ARXIV_ID.match(item) else item
        if not key.startswith(("arxiv:", "title:")) or len(key) > MAX_KEY:
            raise _fail(origin, f.name, f"not an arXiv id or a title key: {item!r}")
        keys.append(key)
    return tuple(keys)


def _library_file(f: Field, raw: str, origin: str) -> tuple[str, ...]:
    if origin == "web" or not raw.strip():
        raise _fail(origin, f.name, "give a file name (BibTeX, RIS, CSL-JSON or arXiv ids)")
    path = Path(origin).parent / raw.strip()
    try:
        if not path.is_file():
            raise _fail(origin, f.name, f"{path}: no such file")
        with path.open("rb") as handle:
            body = handle.read(library.MAX_BYTES + 1)
    except OSError as exc:
        raise _fail(origin, f.name, f"{path}: {exc.strerror}") from None
    try:
        found = library.read(body, path.name)
    except SubscriberError as exc:
        raise _fail(origin, f.name, str(exc)) from None
    return tuple(k for k in found.keys if len(k) <= MAX_KEY)


def _int(f: Field, raw: Any, origin: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not f.low <= raw <= f.high:
        raise _fail(origin, f.name, f"must be a whole number from {f.low} to {f.high}, not {raw!r}")
    return raw


def _bool(f: Field, raw: Any, origin: str) -> bool:
    if not isinstance(raw, bool):
        raise _fail(origin, f.name, f"must be true or false, not {raw!r}")
    return raw


def _choice(f: Field, raw: Any, origin: str) -> str:
    if raw not in f.options:
        raise _fail(origin, f.name, f"must be one of {', '.join(f.options)}, not {raw!r}")
    return str(raw)


def _zone(f: Field, raw: Any, origin: str) -> str:
    name = _text(f, raw, origin)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        problem = f'unknown IANA timezone {name!r} (like "Europe/Paris")'
        raise _fail(origin, f.name, problem) from None
    return name


def _time(f: Field, raw: Any, origin: str) -> time:
    if isinstance(raw, time):
        return raw
    m = SEND_AT.match(raw) if isinstance(raw, str) else None
    if m is None:
        raise _fail(origin, f.name, f'must be a local time "HH:MM" (24-hour), not {raw!r}')
    return time(int(m.group(1)), int(m.group(2)))


def _day(f: Field, raw: Any, origin: str) -> int:
    if isinstance(raw, str) and raw.lower() in WEEKDAYS:
        return WEEKDAYS.index(raw.lower())
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 6:
        return raw
    raise _fail(origin, f.name, f"must be a day name (monday ... sunday), not {raw!r}")


_CHECKS: dict[str, Callable[[Field, Any, str], Any]] = {
    "email": _email,
    "text": _text,
    "phrases": _phrases,
    "arxiv": _arxiv,
    "library": _library,
    "int": _int,
    "bool": _bool,
    "choice": _choice,
    "zone": _zone,
    "time": _time,
    "day": _day,
}
