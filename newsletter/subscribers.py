"""Subscriber profiles: one TOML file each, validated into ``Subscriber`` with one-line errors.

Every error names the file (or "web"), the field and what is wrong with it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsletter.errors import SubscriberError
from newsletter.models import ARXIV_ID, Subscriber

EMAIL = re.compile(
    r"^(?=[!-~]+$)[^@\s<>,;\"']+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
SEND_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
KNOWN = (
    "email",
    "name",
    "topics",
    "exclude",
    "authors",
    "papers",
    "max_papers",
    "min_upvotes",
    "timezone",
    "send_at",
    "frequency",
    "weekday",
    "active",
)


def load_file(path: Path) -> Subscriber:
    """Read and validate one subscriber file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SubscriberError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise SubscriberError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SubscriberError(f"{path}: invalid TOML: {exc}") from None
    return from_dict(data, str(path))


def load_dir(folder: Path) -> list[Subscriber]:
    """Every ``*.toml`` in ``folder``, sorted by file name; two files may not share an email."""
    if not folder.is_dir():
        raise SubscriberError(f"{folder}: subscribers folder not found")
    subs = [load_file(p) for p in sorted(folder.glob("*.toml"))]
    seen: dict[str, str] = {}
    for sub in subs:
        if sub.email.lower() in seen:
            raise SubscriberError(
                f"{sub.origin}: field 'email': {sub.email} is also in {seen[sub.email.lower()]}"
            )
        seen[sub.email.lower()] = sub.origin
    return subs


def from_dict(data: Mapping[str, Any], origin: str) -> Subscriber:
    """Validate a parsed profile; ``origin`` is the file path or "web"."""
    for key in data:
        if key not in KNOWN:
            raise SubscriberError(f"{origin}: unknown field '{key}' (known: {', '.join(KNOWN)})")
    if "email" not in data:
        raise SubscriberError(f"{origin}: field 'email' is missing")
    check = _Checker(origin)
    frequency = check.choice(data, "frequency", ("daily", "weekly"), "daily")
    return Subscriber(
        email=check.email(data["email"]),
        name=check.text(data, "name", ""),
        topics=check.phrases(data, "topics", required=True),
        exclude=check.phrases(data, "exclude"),
        authors=check.phrases(data, "authors"),
        papers=tuple(check.arxiv(p) for p in check.phrases(data, "papers")),
        max_papers=check.integer(data, "max_papers", 10, 1, 100),
        min_upvotes=check.integer(data, "min_upvotes", 0, 0, 1_000_000),
        timezone=check.timezone(data),
        send_at=check.send_at(data),
        frequency="weekly" if frequency == "weekly" else "daily",
        weekday=check.weekday(data),
        active=check.flag(data, "active", True),
        origin=origin,
    )


class _Checker:
    """Field checks that raise one-line errors naming the origin and the field."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, field: str, problem: str) -> SubscriberError:
        return SubscriberError(f"{self.origin}: field '{field}': {problem}")

    def email(self, raw: Any) -> str:
        if not isinstance(raw, str) or not EMAIL.match(raw.strip()):
            raise self.fail("email", f"not a valid email address: {raw!r}")
        return raw.strip()

    def text(self, data: Mapping[str, Any], field: str, default: str) -> str:
        raw = data.get(field, default)
        if not isinstance(raw, str):
            raise self.fail(field, f"must be a string, not {raw!r}")
        return raw.strip()

    def phrases(
        self, data: Mapping[str, Any], field: str, required: bool = False
    ) -> tuple[str, ...]:
        raw = data.get(field, [])
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise self.fail(field, "must be a list of strings")
        items = tuple(dict.fromkeys(" ".join(x.split()) for x in raw if x.strip()))
        if required and not items:
            raise self.fail(
                field, 'is empty; give at least one phrase such as "spiking neural networks"'
            )
        if any(len(x) > 200 for x in items):
            raise self.fail(field, "a phrase is longer than 200 characters")
        return items

    def arxiv(self, raw: str) -> str:
        value = raw.removeprefix("arxiv:").removeprefix("arXiv:")
        if not ARXIV_ID.match(value):
            raise self.fail("papers", f"not an arXiv id (like 2401.01234): {raw!r}")
        return value

    def integer(
        self, data: Mapping[str, Any], field: str, default: int, low: int, high: int
    ) -> int:
        raw = data.get(field, default)
        if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
            raise self.fail(field, f"must be a whole number from {low} to {high}, not {raw!r}")
        return raw

    def flag(self, data: Mapping[str, Any], field: str, default: bool) -> bool:
        raw = data.get(field, default)
        if not isinstance(raw, bool):
            raise self.fail(field, f"must be true or false, not {raw!r}")
        return raw

    def choice(
        self, data: Mapping[str, Any], field: str, options: tuple[str, ...], default: str
    ) -> str:
        raw = data.get(field, default)
        if raw not in options:
            raise self.fail(field, f"must be one of {', '.join(options)}, not {raw!r}")
        return str(raw)

    def timezone(self, data: Mapping[str, Any]) -> str:
        raw = self.text(data, "timezone", "UTC")
        if not _zone(raw):
            raise self.fail("timezone", f'unknown IANA timezone {raw!r} (like "Europe/Paris")')
        return raw

    def send_at(self, data: Mapping[str, Any]) -> time:
        raw = data.get("send_at", "07:00")
        m = SEND_AT.match(raw) if isinstance(raw, str) else None
        if m is None:
            raise self.fail("send_at", f'must be a local time "HH:MM" (24-hour), not {raw!r}')
        return time(int(m.group(1)), int(m.group(2)))

    def weekday(self, data: Mapping[str, Any]) -> int:
        raw = data.get("weekday", "monday")
        if isinstance(raw, str) and raw.lower() in WEEKDAYS:
            return WEEKDAYS.index(raw.lower())
        if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 6:
            return raw
        raise self.fail("weekday", f"must be a day name (monday ... sunday), not {raw!r}")


def _zone(name: str) -> bool:
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def to_toml(sub: Subscriber) -> str:
    """A profile as the TOML an operator would write (for ``subscribers add``)."""

    def strings(items: tuple[str, ...]) -> str:
        return "[" + ", ".join(_quote(x) for x in items) + "]"

    lines = [
        f"email = {_quote(sub.email)}",
        f"name = {_quote(sub.name)}",
        f"topics = {strings(sub.topics)}",
        f"exclude = {strings(sub.exclude)}",
        f"authors = {strings(sub.authors)}",
        f"papers = {strings(sub.papers)}",
        f"max_papers = {sub.max_papers}",
        f"min_upvotes = {sub.min_upvotes}",
        f"timezone = {_quote(sub.timezone)}",
        f'send_at = "{sub.send_at:%H:%M}"',
        f"frequency = {_quote(sub.frequency)}",
        f"weekday = {_quote(WEEKDAYS[sub.weekday])}",
        f"active = {'true' if sub.active else 'false'}",
    ]
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
