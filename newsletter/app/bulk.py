"""Subscribers in bulk: import a CSV or JSON file of profiles, export the stored ones.

Both formats use the profile's field names (``newsletter.profile.FIELDS``) plus ``status``; in
CSV a list is one cell of "; "-separated items. An import checks every row with
``profile.from_dict`` and refuses a bad row (one line naming the file, the row and the field),
not the whole file; the rest is stored in one transaction with origin "import", which a folder
sync never deletes. An import never subscribes again a reader who unsubscribed.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from newsletter import addresses, profile
from newsletter.app import list_exports as exports
from newsletter.errors import SubscriberError
from newsletter.models import Subscriber
from newsletter.store.outbox import suppressed
from newsletter.store.profiles import StoredSubscriber, list_subscribers, upsert_subscriber
from newsletter.store.tables import SUBSCRIBER_STATUSES as STATUSES

ORIGIN = "import"
FORMATS = ("csv", "json")
OWN = ("email", "name", "status")  # the first columns; then every other profile field
COLUMNS = (*OWN, *(f.name for f in profile.FIELDS if f.name not in OWN))
LISTS = frozenset(f.name for f in profile.FIELDS if f.kind in profile.LIST_KINDS)
SEPARATOR = "; "
FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs such a cell (OWASP)
MAX_BYTES = 100 * 2**20
NEVER_AGAIN = {"unsubscribed": "unsubscribed", "complained": "reported our mail as spam"}
WHOLE = re.compile(r"[+-]?\d{1,18}")
TRUTH = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@dataclass(frozen=True)
class Row:
    """One record of an import file: its number as a person counts it, and its raw values."""

    number: int
    data: dict[str, Any]
    problem: str = ""  # what the file format itself refuses in this row
    skip: str = ""  # why the list it comes from says not to import it (never confirmed...)


@dataclass(frozen=True)
class Rows:
    """The records of one file, and what its header said: the list manager whose export it
    is (or ""), and the columns of that export that no profile keeps."""

    rows: list[Row]
    source: str = ""
    ignored: tuple[str, ...] = ()

    def describe(self, label: str) -> str:
        """One line on a known export: what it is, its unsubscribed, its ignored columns."""
        if not self.source:
            return ""
        off = sum(1 for r in self.rows if r.data.get("status") == "unsubscribed")
        said = f" ({off} unsubscribed there: kept as unsubscribed, never sent)" if off else ""
        ignored = f"; ignored its columns {', '.join(self.ignored)}" if self.ignored else ""
        return f"{label}: read as a {self.source} export{said}{ignored}"


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do): addresses, and one line per refusal."""

    imported: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # rows the source list says to leave out
    dry_run: bool = False

    def summary(self) -> str:
        would = "would be " if self.dry_run else ""
        counts = [f"{len(self.imported)} {would}imported", f"{len(self.updated)} {would}updated",
                  f"{len(self.refused)} refused"]
        if self.skipped:
            counts.append(f"{len(self.skipped)} skipped")
        return ", ".join(counts) + (" (dry run: nothing written)" if self.dry_run else "")


# Reading a file ---------------------------------------------------------------------------


def read_rows(path: Path, label: str | None = None) -> Rows:
    """The rows of a ``.csv`` or ``.json`` file; SubscriberError when it cannot be read at all.
    A CSV file may be another list manager's export (see ``list_exports``)."""
    label = label or str(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise SubscriberError(f"{label}: unknown format; name the file .csv or .json")
    text = _text(path, label, kind)
    if not text.strip():
        expected = "a header row such as 'email,name,topics'" if kind == "csv" else "a JSON list"
        raise SubscriberError(f"{label}: empty file; expected {expected}")
    return _csv_rows(text, label) if kind == "csv" else Rows(_json_rows(text, label))


def _text(path: Path, label: str, kind: str) -> str:
    try:
        with path.open("rb") as handle:
            body = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise SubscriberError(f"{label}: file not found") from None
    except OSError as exc:
        raise SubscriberError(f"{label}: cannot read: {exc.strerror}") from None
    if len(body) > MAX_BYTES:
        raise SubscriberError(f"{label}: larger than {MAX_BYTES // 2**20} MB; split it")
    try:
        return body.decode("utf-8-sig")  # a BOM (Excel's "CSV UTF-8") is dropped
    except UnicodeDecodeError as exc:
        byte = body[exc.start]
        raise SubscriberError(
            f"{label}: not UTF-8 text (byte 0x{byte:02x} at offset {exc.start}); "
            + ('save it as "CSV UTF-8"' if kind == "csv" else "save it as UTF-8")
        ) from None


def _json_rows(text: str, label: str) -> list[Row]:
    try:
        data = json.loads(text)
    except RecursionError:
        raise SubscriberError(f"{label}: invalid JSON: nested too deeply") from None
    except ValueError as exc:
        raise SubscriberError(f"{label}: invalid JSON: {exc}") from None
    if not isinstance(data, list):
        raise SubscriberError(f"{label}: expected a JSON list of objects, not {_kind(data)}")
    return [
        Row(n, item) if isinstance(item, dict) else Row(n, {}, f"not an object: {_kind(item)}")
        for n, item in enumerate(data, start=1)
    ]


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}
    return names.get(type(value), "null" if value is None else "a number")


def _csv_rows(text: str, label: str) -> Rows:
    """Rows numbered as a spreadsheet shows them: the header is row 1."""
    records = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    csv.field_size_limit(max(csv.field_size_limit(), MAX_BYTES))  # a long library cell
    try:
        roles, source = _header(next(records), label)
        cells = [(n, c) for n, c in enumerate(records, start=2) if any(x.strip() for x in c)]
    except csv.Error as exc:
        raise SubscriberError(f"{label}: line {records.line_num}: not valid CSV: {exc}") from None
    ignored = tuple(r.name for r in roles if r.ignored)
    return Rows([_csv_row(number, roles, row) for number, row in cells], source, ignored)


def _delimiter(text: str) -> str:
    """The header's delimiter: a comma, or Excel's semicolon in some locales, or a tab."""
    first = text.splitlines()[0] if text else ""
    return max((",", ";", "\t"), key=lambda d: len(next(csv.reader([first], delimiter=d))))


def _header(cells: list[str], label: str) -> tuple[list[exports.Role], str]:
    """Each column's role, and the list manager whose export the header is (or "")."""
    names = [cell.strip() for cell in cells]
    while names and not names[-1]:
        names.pop()  # the empty cells a spreadsheet leaves at the end of a line
    columns = [name.lower() for name in names]
    source = exports.source_of(columns)
    roles = []
    for n, (name, column) in enumerate(zip(names, columns, strict=True), start=1):
        if not column:
            raise SubscriberError(f"{label}: column {n} of the header has no name")
        found = exports.role(name, column, COLUMNS, source)
        if found is None:
            known = ", ".join(COLUMNS)
            raise SubscriberError(f"{label}: unknown column {name!r} (known: {known})")
        if column in columns[: n - 1]:
            raise SubscriberError(f"{label}: column {name!r} appears twice")
        roles.append(found)
    if not any(r.field == "email" for r in roles):
        has = f"it has {', '.join(names)}" if names else "it is empty"
        raise SubscriberError(f"{label}: no 'email' column in the header row ({has})")
    return roles, source


def _csv_row(number: int, roles: Sequence[exports.Role], cells: Sequence[str]) -> Row:
    extra = [cell for cell in cells[len(roles) :] if cell.strip()]
    if extra:
        return Row(number, {}, f"{len(cells)} cells but the header names {len(roles)} columns")
    data: dict[str, Any] = {}
    parts: dict[str, str] = {}
    for column, cell in zip(roles, cells, strict=False):
        text = _unquote(cell.strip())
        if column.field and text:
            data[column.field] = _value(column.field, text)
        elif column.part:
            parts[column.part] = text
    name = " ".join(parts.get(p, "") for p in ("first", "last")).strip()
    if name and not data.get("name"):
        data["name"] = name
    status, skip = exports.status(parts)
    if status and "status" not in data:
        data["status"] = status
    return Row(number, data, skip=skip)


def _value(column: str, text: str) -> Any:
    """A CSV cell as the profile schema reads it; left as text when it does not convert."""
    kind = profile.BY_NAME[column].kind if column in profile.BY_NAME else "status"
    if column in LISTS:
        return [item.strip() for item in text.split(";") if item.strip()]
    if kind == "int" and WHOLE.fullmatch(text):
        return int(text)
    if kind == "bool":
        return TRUTH.get(text.lower(), text)
    return text


def _unquote(text: str) -> str:
    """Undo ``_defuse``: drop the quote put before a cell a spreadsheet would run."""
    if text[:1] == "'" and (text[1:2] in FORMULA or (text[1:2] == "'" and text[2:3] in FORMULA)):
        return text[1:].strip()
    return text


# Importing --------------------------------------------------------------------------------


def import_rows(
    engine: Engine,
    rows: Sequence[Row],
    label: str,
    *,
    status: str | None = None,
    update: bool = False,
    dry_run: bool = False,
    topics: Sequence[str] = (),
    now: datetime,
) -> ImportReport:
    """Store the valid rows in one transaction (none in a dry run); report every refusal.

    ``status`` is for rows that give neither ``status`` nor ``active``: a new reader gets it
    (default active), an updated one keeps the stored status unless it is given. ``topics``
    are the profile of rows that give no topics, papers or library (an address-only list).
    """
    liked = ("topics", "papers", "library")
    if rows and not topics and not any(row.data.get(k) for row in rows for k in liked):
        raise SubscriberError(
            f"{label}: no row gives topics, papers or a library; give every reader the same "
            "topics with --topics, e.g. --topics \"robotics; machine learning\""
        )
    report = ImportReport(dry_run=dry_run)
    defaults = {"topics": list(topics)} if topics else {}
    with engine.begin() as conn:
        for sub, chosen in _plan(conn, rows, label, status, update, report, defaults):
            if not dry_run:
                upsert_subscriber(conn, sub, now, chosen)
    return report


def _plan(
    conn: Connection,
    rows: Sequence[Row],
    label: str,
    status: str | None,
    update: bool,
    report: ImportReport,
    defaults: dict[str, Any],
) -> Iterator[tuple[Subscriber, str]]:
    """Each row to store with its status, in file order; refusals go to ``report``."""
    stored = {addresses.key(s.subscriber.email): s for s in list_subscribers(conn)}
    emails = [row.data["email"] for row in rows if isinstance(row.data.get("email"), str)]
    blocked = suppressed(conn, emails)
    seen: dict[str, int] = {}
    for row in rows:
        origin = f"{label}:row {row.number}"
        if row.skip:
            report.skipped.append(f"{origin}: {row.data.get('email', '')} {row.skip}; skipped")
            continue
        try:
            sub, given = _validate(row, origin, defaults)
            key = addresses.key(sub.email)
            first = seen.setdefault(key, row.number)
            first = 0 if first == row.number else first  # the row this one repeats
            old = stored.get(key)
            problem = _refusal(sub, old, blocked.get(key, ""), first, update)
            if problem:
                raise SubscriberError(f"{origin}: field 'email': {problem}")
        except SubscriberError as exc:
            report.refused.append(str(exc))
            continue
        (report.updated if old else report.imported).append(sub.email)
        yield sub, given or status or (old.status if old else "active")


def _validate(
    row: Row, origin: str, defaults: dict[str, Any] | None = None
) -> tuple[Subscriber, str | None]:
    """The row's profile (origin "import") and the status it gives, if any; ``defaults``
    fill a row that gives no topics, papers or library."""
    if row.problem:
        raise SubscriberError(f"{origin}: {row.problem}")
    data = {key: value for key, value in row.data.items() if value is not None}
    if defaults and not any(data.get(k) for k in ("topics", "papers", "library")):
        data |= defaults
    for key in data:
        if key not in COLUMNS:  # a JSON key, shown escaped: it may hold anything
            raise SubscriberError(f"{origin}: unknown field {key!r} (known: {', '.join(COLUMNS)})")
    given = _status(data.pop("status", None), origin)
    sub = profile.from_dict(data, origin)
    if given is None and "active" in data:
        given = "active" if sub.active else "paused"
    return replace(sub, origin=ORIGIN), given


def _status(raw: Any, origin: str) -> str | None:
    if raw is None:
        return None
    value = raw.strip().lower() if isinstance(raw, str) else raw
    if value not in STATUSES:
        known = ", ".join(STATUSES)
        raise SubscriberError(f"{origin}: field 'status': must be one of {known}, not {raw!r}")
    return str(value)


def _refusal(
    sub: Subscriber, old: StoredSubscriber | None, blocked: str, first: int, update: bool
) -> str:
    """Why a row that validates is not stored ("" when it is): a repeat or the stored reader."""
    reason = "unsubscribed" if old and old.status == "unsubscribed" else NEVER_AGAIN.get(blocked)
    if first:
        return f"{sub.email} repeats row {first}; only the first is imported"
    if reason:
        return f"{sub.email} {reason}; an import never subscribes a reader again"
    if old and old.subscriber.origin not in ("", "web", ORIGIN):
        return f"{sub.email} comes from {old.subscriber.origin}; edit that file instead"
    if old and not update:
        return f"{sub.email} is already subscribed (--update replaces the stored profile)"
    return ""


# Exporting --------------------------------------------------------------------------------


def export_records(engine: Engine, status: str | None = None) -> list[dict[str, Any]]:
    """Every stored subscriber (with ``status``) as plain data, keys in ``COLUMNS`` order."""
    with engine.connect() as conn:
        found = list_subscribers(conn, status)
    return [_record(stored) for stored in found]


def _record(stored: StoredSubscriber) -> dict[str, Any]:
    data = profile.to_data(stored.subscriber)
    return {"email": data.pop("email"), "name": data.pop("name"), "status": stored.status} | data


def render(records: Sequence[Mapping[str, Any]], fmt: str) -> str:
    """Records as JSON (real lists) or as CSV that ``read_rows`` reads back."""
    if fmt == "json":
        return json.dumps(list(records), ensure_ascii=False, indent=2) + "\n"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows([_defuse(_cell(record[column])) for column in COLUMNS] for record in records)
    return out.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return SEPARATOR.join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _defuse(text: str) -> str:
    """Quote a cell a spreadsheet would run as a formula (and one that looks quoted already)."""
    if text[:1] in FORMULA or (text[:1] == "'" and text[1:2] in FORMULA):
        return f"'{text}"
    return text
