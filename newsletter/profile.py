"""A subscriber's profile, declared once: each field's kind, bounds, default, help and, for
the fields readers edit on the web, its place and label on the subscriber site's forms.

The TOML loader, the store, the web forms and the CLI read and write profiles through this
schema, so a new field is declared here (and on ``models.Subscriber``) and nowhere else.
Every validation error is one line naming the origin (a file or "web") and the field, and
carries the same problem worded for a reader filling in a form; every field is checked, so a
form can show all of its problems at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsletter import addresses, library_files
from newsletter.errors import SubscriberError
from newsletter.models import ARXIV_ID, Subscriber

Kind = Literal[
    "email", "text", "phrases", "arxiv", "library", "emails", "int", "bool", "choice", "zone",
    "time", "day",
]
LIST_KINDS = ("phrases", "arxiv", "library", "emails")  # kinds held as lists
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SEND_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_PHRASE = 200
# C0 and C1 controls (tab and newline aside), and the bidirectional overrides and isolates
# that make a name or topic display as other text than it holds (the joiners that scripts
# and emoji need stay allowed).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _unsafe(text: str) -> bool:
    """True for control characters (tab and newline aside), bidirectional overrides or lone
    surrogates, which no database or mail header should carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return CONTROL.search(text) is not None


class FieldError(SubscriberError):
    """One field's problem: a line naming origin and field (for files, the CLI and logs), and
    ``reader``, the same problem in plain words for a person filling in a form."""

    def __init__(self, origin: str, field: str, problem: str, reader: str) -> None:
        super().__init__(f"{origin}: field '{field}': {problem}")
        self.field = field
        self.reader = reader


class ProfileError(SubscriberError):
    """Every field's problem in one profile; its message is the first problem's line."""

    def __init__(self, problems: Sequence[FieldError]) -> None:
        super().__init__(str(problems[0]))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Web:
    """How the subscriber site's forms show a field that readers edit there (the input
    itself follows from the field's kind)."""

    place: int  # the field's place on the form, from 1
    label: str
    hint: str = ""  # beside the label
    choices: tuple[str, ...] = ()  # how each option reads (default: the option, capitalized)


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
    web: Web | None = None  # None: readers do not edit it on the web
    emailed: bool = True  # False: no email shows it (and it can be long): not in outbox snapshots


FIELDS: tuple[Field, ...] = (
    Field("email", "email", None, "The reader's email address.", flag="email",
          web=Web(1, "Email")),
    Field("name", "text", "", "The reader's name, on the To: line of each issue.", high=200,
          flag="name",
          web=Web(2, "Your name", "(optional)")),
    Field("topics", "phrases", (), "Interests, one phrase each.", high=50, flag="topic",
          web=Web(3, "Topics", 'one per line, e.g. "spiking neural networks"')),
    Field("exclude", "phrases", (), "Phrases never to be sent.", high=50, flag="exclude",
          web=Web(5, "Never send papers about", "(optional, one per line)")),
    Field("authors", "phrases", (), "Authors to follow.", high=50, flag="author",
          web=Web(6, "Follow authors", "(optional, one per line)")),
    Field("papers", "arxiv", (), "Liked papers by arXiv id.", high=200, flag="paper",
          emailed=False),
    Field(
        "library",
        "library",
        (),
        "Your library as liked papers: a Zotero export (BibTeX, RIS, CSL-JSON) or a file of "
        "arXiv ids, relative to the subscriber file.",
        high=library_files.MAX_ENTRIES,
        flag="library",
        web=Web(4, "Papers you liked", "(optional: arXiv ids, links or titles, one per line, "
                "or paste a BibTeX, RIS or CSL-JSON export from Zotero)"),
        emailed=False,
    ),
    Field("max_papers", "int", 10, "Most papers in one issue.", 1, 100, flag="max-papers",
          web=Web(11, "At most")),
    Field("min_upvotes", "int", 0, "Skip papers with fewer upvotes.", 0, 1_000_000),
    Field("timezone", "zone", "UTC", "IANA timezone of send_at.", flag="timezone",
          web=Web(7, "Time zone")),
    Field("send_at", "time", time(7, 0), "Local time of day, HH:MM.", flag="send-at",
          web=Web(8, "Send at", "(your time)")),
    Field("frequency", "choice", "daily", "How often.", options=("daily", "weekly"),
          flag="frequency", web=Web(9, "How often", choices=("Daily", "Weekly, on"))),
    Field("weekday", "day", 0, "The day of a weekly issue.", options=WEEKDAYS, flag="weekday",
          web=Web(10, "Day", "(weekly only)")),
    Field("active", "bool", True, "False pauses the subscription."),
    Field("abstracts", "choice", "short", "How much of each abstract an email shows: short (cut "
          "at [email] abstract_chars), full, or none (titles only).",
          options=("short", "full", "none"), flag="abstracts",
          web=Web(12, "Abstracts", choices=("Short", "Full", "None (titles only)"))),
    Field("sections", "bool", True, "With several topics, group the papers of an issue under "
          "the topic each matched best (false: one list, best first).",
          web=Web(13, "Group papers by topic", "(when you have several topics)")),
    Field("members", "emails", (), "A team's profile: the subscribers (their addresses) its "
          "issue is for; it holds the papers that match any of them.", high=50, flag="member",
          emailed=False),
    Field("dropped_phrases", "phrases", (), "Phrases a language model looks for on the "
          "reader's behalf that the reader dropped ([llm] expand_profiles).", high=100,
          emailed=False),
)
BY_NAME = {f.name: f for f in FIELDS}
ON_WEB = tuple(sorted((f for f in FIELDS if f.web), key=lambda f: f.web.place if f.web else 0))


def from_dict(data: Mapping[str, Any], origin: str) -> Subscriber:
    """Validate a parsed profile (a TOML file, a form, a stored row); ``origin`` names it.

    A bad profile raises ``ProfileError``, holding each field's problem in the order of FIELDS.
    """
    for key in data:
        if key not in BY_NAME:
            known = ", ".join(BY_NAME)
            raise SubscriberError(f"{origin}: unknown field '{key}' (known: {known})")
    if "email" not in data:
        raise SubscriberError(f"{origin}: field 'email' is missing")
    values: dict[str, Any] = {}
    problems: list[FieldError] = []
    for f in FIELDS:
        try:
            values[f.name] = _CHECKS[f.kind](f, data.get(f.name, f.default), origin)
        except FieldError as exc:
            problems.append(exc)
    problems += _across_fields(data, values, origin)
    if problems:
        raise ProfileError(problems)
    return Subscriber(**values, origin=origin)


def _across_fields(
    data: Mapping[str, Any], values: Mapping[str, Any], origin: str
) -> list[FieldError]:
    """The rules that join fields, checked when those fields passed on their own."""
    problems = []
    if values.get("frequency") == "weekly" and "weekday" not in data:
        problem = "a weekly issue needs its day (monday ... sunday)"
        reader = "Choose the day of the week for your weekly issue."
        problems.append(FieldError(origin, "weekday", problem, reader))
    if all(name in values and not values[name]
           for name in ("topics", "papers", "library", "members")):
        problem = 'is empty; give at least one phrase such as "spiking neural networks"'
        reader = "Add at least one topic, like 'graph neural networks', or a paper you liked."
        problems.append(FieldError(origin, "topics", problem, reader))
    return problems


def to_data(sub: Subscriber) -> dict[str, Any]:
    """A profile as plain data (lists, "HH:MM", day names) that ``from_dict`` reads back."""
    data: dict[str, Any] = {}
    for f in FIELDS:
        value = getattr(sub, f.name)
        if f.kind in LIST_KINDS:
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
        if f.kind in LIST_KINDS:
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


def _garbled(origin: str, f: Field) -> FieldError:
    return FieldError(
        origin, f.name, "must not hold control characters or broken Unicode",
        "Please type this again: it holds invisible control characters.",
    )


def _email(f: Field, raw: Any, origin: str) -> str:
    if not isinstance(raw, str) or not addresses.is_valid(raw):
        raise FieldError(
            origin, f.name, f"not a valid email address: {raw!r}",
            "Enter your email address, like name@example.org.",
        )
    return raw.strip()


def _text(f: Field, raw: Any, origin: str) -> str:
    if not isinstance(raw, str):
        raise FieldError(origin, f.name, f"must be a string, not {raw!r}", "Enter plain text here.")
    if _unsafe(raw):
        raise _garbled(origin, f)
    if f.high and len(raw.strip()) > f.high:
        raise FieldError(
            origin, f.name, f"is longer than {f.high} characters",
            f"Shorten this to {f.high} characters or fewer.",
        )
    return raw.strip()


def _phrases(f: Field, raw: Any, origin: str) -> tuple[str, ...]:
    if isinstance(raw, str):  # `topics = "robotics, nlp"` would be one topic, silently
        example = ", ".join(f'"{x.strip()}"' for x in raw.split(",") if x.strip()) or '"..."'
        raise FieldError(
            origin, f.name, f"must be a list in brackets, one entry each: {f.name} = [{example}]",
            "Write one entry per line.",
        )
    if not isinstance(raw, list | tuple) or not all(isinstance(x, str) for x in raw):
        raise FieldError(origin, f.name, "must be a list of strings", "Write one entry per line.")
    if any(_unsafe(x) for x in raw):
        raise _garbled(origin, f)
    first: dict[str, str] = {}  # "NLP" and "nlp" are one topic: the first spelling is kept
    for x in raw:
        first.setdefault(" ".join(x.split()).casefold(), " ".join(x.split()))
    items = tuple(x for x in first.values() if x)
    if any(len(x) > MAX_PHRASE for x in items):
        raise FieldError(
            origin, f.name, f"a phrase is longer than {MAX_PHRASE} characters",
            f"Shorten each line to {MAX_PHRASE} characters or fewer.",
        )
    if f.high and len(items) > f.high:
        raise FieldError(
            origin, f.name, f"at most {f.high} entries (got {len(items)})",
            f"Give at most {f.high} lines here (you gave {len(items)}).",
        )
    return items


def _arxiv(f: Field, raw: Any, origin: str) -> tuple[str, ...]:
    ids = []
    for item in _phrases(f, raw, origin):
        value = item.removeprefix("arxiv:").removeprefix("arXiv:")
        if not ARXIV_ID.match(value):
            raise FieldError(
                origin, f.name, f"not an arXiv id (like 2401.01234): {item!r}",
                f"{item!r} is not an arXiv id; write ids like 2401.01234.",
            )
        ids.append(value)
    return tuple(ids)


def _emails(f: Field, raw: Any, origin: str) -> tuple[str, ...]:
    """Addresses, each valid, kept as written (one per address, whatever its case)."""
    found: dict[str, str] = {}
    for item in _phrases(f, raw, origin):
        if not addresses.is_valid(item):
            raise FieldError(
                origin, f.name, f"not a valid email address: {item!r}",
                f"{item!r} is not an email address; write addresses like name@example.org.",
            )
        found.setdefault(addresses.key(item), item)
    return tuple(found.values())


def _library(f: Field, raw: Any, origin: str) -> tuple[str, ...]:
    """A file (read now, relative to the subscriber file) or its keys as stored."""
    if isinstance(raw, str):
        return _library_file(f, raw, origin)
    if not isinstance(raw, list | tuple) or not all(isinstance(x, str) for x in raw):
        raise FieldError(
            origin, f.name, "must be a file name or a list of arXiv ids",
            "Paste arXiv ids, links or titles, one per line.",
        )
    if len(raw) > f.high:
        raise FieldError(
            origin, f.name, f"at most {f.high} entries (got {len(raw)})",
            f"Give at most {f.high} papers (you gave {len(raw)}).",
        )
    keys = []
    for item in dict.fromkeys(x.strip() for x in raw if x.strip()):
        key = f"arxiv:{item}" if ARXIV_ID.match(item) else item
        known_as = library_files.alternatives(key)
        if len(known_as) > 2 or not all(
            k.startswith(("arxiv:", "title:")) and len(k) <= library_files.MAX_PART
            for k in known_as
        ):
            raise FieldError(
                origin, f.name, f"not an arXiv id or a title key: {item[:80]!r}",
                f"Give arXiv ids, links or titles of at most {library_files.MAX_PART} characters.",
            )
        keys.append(key)
    return tuple(keys)


def _library_file(f: Field, raw: str, origin: str) -> tuple[str, ...]:
    if origin == "web" or not raw.strip():
        raise FieldError(
            origin, f.name, "give a file name (BibTeX, RIS, CSL-JSON or arXiv ids)",
            "Paste your papers here: arXiv ids, links or titles, or a library export.",
        )
    path = Path(origin).parent / raw.strip()
    try:
        if not path.is_file():
            what = "a folder, not a library file" if path.is_dir() else "no such file"
            raise FieldError(origin, f.name, f"{path}: {what}", "The library file is missing.")
        with path.open("rb") as handle:
            body = handle.read(library_files.MAX_BYTES + 1)
    except OSError as exc:
        raise FieldError(
            origin, f.name, f"{path}: {exc.strerror}", "The library file cannot be read."
        ) from None
    try:
        found = library_files.read(body, path.name)
    except SubscriberError as exc:
        reader = "The library file is not BibTeX, RIS, CSL-JSON or a list of arXiv ids."
        raise FieldError(origin, f.name, str(exc), reader) from None
    return found.keys


def _int(f: Field, raw: Any, origin: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not f.low <= raw <= f.high:
        raise FieldError(
            origin, f.name, f"must be a whole number from {f.low} to {f.high}, not {raw!r}",
            f"Enter a whole number from {f.low} to {f.high}.",
        )
    return raw


def _bool(f: Field, raw: Any, origin: str) -> bool:
    if not isinstance(raw, bool):
        raise FieldError(origin, f.name, f"must be true or false, not {raw!r}", "Choose yes or no.")
    return raw


def _choice(f: Field, raw: Any, origin: str) -> str:
    if raw not in f.options:
        raise FieldError(
            origin, f.name, f"must be one of {', '.join(f.options)}, not {raw!r}",
            f"Choose one of: {', '.join(f.options)}.",
        )
    return str(raw)


def _zone(f: Field, raw: Any, origin: str) -> str:
    name = _text(f, raw, origin)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        problem = f'unknown IANA timezone {name!r} (like "Europe/Paris")'
        reader = "Choose a time zone from the list, like Europe/Paris."
        raise FieldError(origin, f.name, problem, reader) from None
    return name


def _time(f: Field, raw: Any, origin: str) -> time:
    if isinstance(raw, time):
        return raw
    m = SEND_AT.match(raw) if isinstance(raw, str) else None
    if m is None:
        raise FieldError(
            origin, f.name, f'must be a local time "HH:MM" (24-hour), not {raw!r}',
            "Enter a time like 07:30 (24-hour clock).",
        )
    return time(int(m.group(1)), int(m.group(2)))


def _day(f: Field, raw: Any, origin: str) -> int:
    if isinstance(raw, str) and raw.lower() in WEEKDAYS:
        return WEEKDAYS.index(raw.lower())
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 6:
        return raw
    raise FieldError(
        origin, f.name, f"must be a day name (monday ... sunday), not {raw!r}",
        "Choose a day of the week.",
    )


_CHECKS: dict[str, Callable[[Field, Any, str], Any]] = {
    "email": _email,
    "text": _text,
    "phrases": _phrases,
    "arxiv": _arxiv,
    "library": _library,
    "emails": _emails,
    "int": _int,
    "bool": _bool,
    "choice": _choice,
    "zone": _zone,
    "time": _time,
    "day": _day,
}
