"""The subscriber forms: read a bounded form body and turn it into a profile, and what the
form's inputs show.

The form's fields, their order, defaults and parsing come from the profile schema
(``newsletter.profile.FIELDS``: the fields with ``web``), and validation is
``newsletter.reader_profile.validate``, the profile's rules as for subscriber files, so the
web and the files accept exactly the same profiles; the form only adds its own size limits,
the site's ``max_topics`` and the library's file upload.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import anyio
from python_multipart import FormParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import Field as Part
from python_multipart.multipart import File as FilePart
from python_multipart.multipart import parse_options_header

from newsletter import library_files
from newsletter.errors import NewsletterError, SubscriberError
from newsletter.models import Subscriber
from newsletter.profile import ON_WEB, Field, from_stored, to_data
from newsletter.reader_profile import Posted
from newsletter.web.work import in_worker

MAX_BODY = 512 * 1024  # bytes of form data accepted in one request (a pasted library fits)
BODY_SECONDS = 30.0  # for a form body to arrive once its headers have
MAX_FIELDS = 60
COMPACT = frozenset({"zone", "time", "day", "int"})  # inputs narrow enough to share a row
WHOLE = re.compile(r"[0-9]{1,9}")  # a number a form may give (int() refuses 4,300 digits)
PICK = re.compile(r"pick-[0-9]{1,2}")  # a paper ticked in "pick papers you would read"


class FormRefused(NewsletterError):
    """A form body that cannot be read: answered with ``status`` and ``title``."""

    status = 400
    title = "Form not readable"


class FormTooLarge(FormRefused):
    """A form body over ``MAX_BODY`` bytes or with too many fields."""

    status = 413
    title = "Form too large"


class FormNotText(FormRefused):
    """A form body that is not UTF-8 text, or not readable multipart data."""


class FormTooSlow(FormRefused):
    """A form body that did not arrive within ``BODY_SECONDS``."""

    status = 408
    title = "Form too slow"


@dataclass(frozen=True)
class Form:
    """The decoded fields of one posted form (last value wins for repeated names), and its
    uploaded files as (file name, bytes)."""

    fields: Mapping[str, str]
    files: Mapping[str, tuple[str, bytes]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


async def read_form(chunks: AsyncIterator[bytes], content_type: str = "") -> Form:
    """Decode an urlencoded or (with a file) ``multipart/form-data`` body, refusing one that
    is too large, too slow to arrive or not text; the decoding runs in a worker thread."""
    body = bytearray()
    with anyio.move_on_after(BODY_SECONDS) as waited:
        async for chunk in chunks:
            body += chunk
            if len(body) > MAX_BODY:
                raise FormTooLarge(f"the form is larger than {MAX_BODY // 1024} KB")
    if waited.cancelled_caught:
        raise FormTooSlow(f"the form did not arrive within {BODY_SECONDS:g} seconds")
    return await in_worker(decode_form, bytes(body), content_type)


def decode_form(body: bytes, content_type: str = "") -> Form:
    """The fields (and files) of a whole form body."""
    if content_type.lower().startswith("multipart/form-data"):
        return _multipart(body, content_type)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormNotText(f"the form is not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise FormTooLarge(f"the form has more than {MAX_FIELDS} fields") from None
    return Form(dict(pairs))


class _Parts:
    """What python-multipart hands over while it reads a body: the text fields and the files
    (last value wins for a name), and whether the body ended as it should."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        self.count = 0
        self.ended = False

    def field(self, part: Part) -> None:
        self.fields[self._name(part.field_name)] = _text(part.value or b"")

    def file(self, part: FilePart) -> None:
        part.file_object.seek(0)
        self.files[self._name(part.field_name)] = (_text(part.file_name), part.file_object.read())

    def end(self) -> None:
        self.ended = True

    def _name(self, raw: bytes | None) -> str:
        self.count += 1
        if self.count > MAX_FIELDS:
            raise FormTooLarge(f"the form has more than {MAX_FIELDS} fields")
        return _text(raw)


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", errors="replace")


def _multipart(body: bytes, content_type: str) -> Form:
    """A ``multipart/form-data`` body (already within ``MAX_BODY``) read with python-multipart;
    one that is not readable, or unfinished, is refused in one line."""
    boundary = parse_options_header(content_type)[1].get(b"boundary")
    parts = _Parts()
    config = {"MAX_BODY_SIZE": MAX_BODY, "MAX_MEMORY_FILE_SIZE": MAX_BODY}  # files stay in memory
    try:
        if not boundary:
            raise FormParserError("no boundary")
        parser = FormParser("multipart/form-data", parts.field, parts.file, parts.end,
                            boundary=boundary, config=config)
        parser.write(body)
        parser.finalize()
    except FormParserError:
        parts.ended = False
    if not parts.ended:
        raise FormNotText("the form is not readable multipart data")
    return Form(parts.fields, parts.files)


def lines(text: str) -> list[str]:
    """One entry per line (commas are part of a phrase: "vision, language" is one topic)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _as_text(value: Any) -> str:
    """A profile value (as ``to_data`` gives it) as its input shows it."""
    if isinstance(value, list):
        return "\n".join(value)
    if isinstance(value, bool):
        return "on" if value else ""
    return str(value)


def _shown(sub: Subscriber) -> dict[str, str]:
    data = to_data(sub)
    return {f.name: _as_text(data[f.name]) for f in ON_WEB}


DEFAULTS = _shown(from_stored({"email": ""}, "web"))  # what a new form shows


def profile_data(form: Form, email: str, max_topics: int) -> Posted:
    """The profile fields of a subscribe or preferences form, as ``from_dict`` expects them;
    ``email`` is the address typed on the sign-up form, or the reader's own."""
    refused: dict[str, str] = {}
    data: dict[str, Any] = {"email": email}
    for f in ON_WEB:
        if f.kind == "email":
            continue
        if f.kind == "library":
            data[f.name], problem = _library(form, f.name)
            if problem:
                refused[f.name] = problem
            continue
        data[f.name] = _posted(f, form.get(f.name))
        if f.kind == "phrases" and len(data[f.name]) > max_topics:
            given = len(data[f.name])
            refused[f.name] = f"Give at most {max_topics} lines here (you gave {given})."
    return Posted(data, refused)


def _posted(f: Field, text: str) -> Any:
    """One input's text as ``from_dict`` reads the field; an empty one is its default."""
    if f.kind in ("phrases", "arxiv"):
        return lines(text)
    if f.kind == "text":
        return text[: f.high] if f.high else text  # what the input's maxlength lets through
    if f.kind == "bool":  # a checkbox after a hidden "off" of the same name (the last wins)
        return text == "on" if text else f.default
    text = text.strip() or DEFAULTS[f.name]
    if f.kind == "int":
        return int(text) if WHOLE.fullmatch(text) else text
    if f.kind == "time":
        return text[:5]  # some browsers add seconds
    return text


def _library(form: Form, name: str) -> tuple[list[str], str]:
    """The library's keys from its pasted text and its uploaded file, and what was refused."""
    found: list[str] = []
    problem = ""
    given = [(name, form.get(name).encode())]
    if form.files.get(f"{name}_file", ("", b""))[1]:
        given.append(form.files[f"{name}_file"])
    picked = [v for k, v in form.fields.items() if PICK.fullmatch(k) and v.strip()]
    if picked:  # "pick papers you would read": each a library line (app/first_picks.py)
        given.append((name, "\n".join(picked).encode()))
    for label, raw in given:
        try:
            found += library_files.read(raw, label).keys if raw.strip() else ()
        except SubscriberError as exc:
            problem = (
                f"We could not read {'this list' if label == name else repr(label)}: "
                f"{str(exc).removeprefix(f'{label}: ')}. Give arXiv ids, links or titles one "
                "per line, or a BibTeX, RIS or CSL-JSON export."
            )
    return list(library_files.unique(found)), problem


@dataclass(frozen=True)
class Shown(Mapping[str, str]):
    """What the form's inputs show, by field name, and the profile fields it draws: ``rows``,
    in the form's order, two compact inputs (a time, a number...) to a row."""

    texts: Mapping[str, str]
    rows: tuple[tuple[Field, ...], ...]

    def __getitem__(self, name: str) -> str:
        return self.texts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts)

    def __len__(self) -> int:
        return len(self.texts)


def _rows(fields: tuple[Field, ...]) -> tuple[tuple[Field, ...], ...]:
    rows: list[tuple[Field, ...]] = []
    for f in fields:
        if f.kind in COMPACT and rows and len(rows[-1]) == 1 and rows[-1][0].kind in COMPACT:
            rows[-1] += (f,)
        else:
            rows.append((f,))
    return tuple(rows)


ROWS = _rows(ON_WEB)


def form_values(sub: Subscriber | None, form: Form | None = None) -> Shown:
    """What the form's inputs show: a stored profile, or what was just posted (an input left
    out shows its default, a checkbox left out is unticked)."""
    if form is not None:
        unticked = {f.name: "" for f in ON_WEB if f.kind == "bool"}
        return Shown(DEFAULTS | unticked | dict(form.fields), ROWS)
    if sub is None:
        return Shown(DEFAULTS, ROWS)
    return Shown(_shown(sub) | {"paused": "" if sub.active else "on"}, ROWS)
