"""The subscriber forms: read a bounded urlencoded body and validate it into a ``Subscriber``.

Validation is ``newsletter.profile.from_dict``, the same as for subscriber files, so the web
and the files accept exactly the same profiles; the form only adds its own size limits. A
refused form gets every field's problem at once, in the words ``profile`` has for readers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from newsletter import library_files
from newsletter.errors import NewsletterError, SubscriberError
from newsletter.models import Subscriber
from newsletter.profile import ProfileError, from_dict, to_data
from newsletter.web import multipart

MAX_BODY = 512 * 1024  # bytes of form data accepted in one request (a pasted library fits)
MAX_FIELDS = 60
LISTS = ("topics", "exclude", "authors")  # the list fields a reader edits, one entry per line
BLANK = Subscriber(email="", topics=())  # a new form shows the profile defaults
ON_FORM = (  # in the order the form shows them
    "email", "name", "topics", "library", "exclude", "authors", "timezone", "send_at", "frequency",
    "weekday", "max_papers",
)


class FormTooLarge(NewsletterError):
    """A form body over ``MAX_BODY`` bytes or with too many fields."""


class FormErrors(SubscriberError):
    """A refused form: for each field with a problem, in the form's order, what to do."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(sorted(errors.items(), key=lambda item: _position(item[0])))
        super().__init__("; ".join(f"{name}: {text}" for name, text in self.errors.items()))


def _position(name: str) -> int:
    return ON_FORM.index(name) if name in ON_FORM else len(ON_FORM)


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
    is too large."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > MAX_BODY:
            raise FormTooLarge(f"the form is larger than {MAX_BODY // 1024} KB")
    if content_type.lower().startswith("multipart/form-data"):
        try:
            fields, files = multipart.parse(bytes(body), content_type, MAX_FIELDS)
        except multipart.NotMultipart as exc:
            raise FormTooLarge(str(exc)) from None
        return Form(fields, files)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise FormTooLarge(f"the form has more than {MAX_FIELDS} fields or is not text") from None
    return Form(dict(pairs))


def lines(text: str) -> list[str]:
    """One entry per line (commas are part of a phrase: "vision, language" is one topic)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class Posted:
    """A posted profile: its fields as ``from_dict`` reads them, and what the form itself
    refused (a list longer than the site allows, a paste that is not a library)."""

    data: dict[str, Any]
    refused: dict[str, str] = field(default_factory=dict)


def profile_data(form: Form, email: str, max_topics: int) -> Posted:
    """The profile fields of a subscribe or preferences form, as ``from_dict`` expects them."""
    refused: dict[str, str] = {}
    data: dict[str, Any] = {
        "email": email,
        "name": form.get("name")[:200],
        "timezone": form.get("timezone").strip() or "UTC",
        "send_at": form.get("send_at").strip()[:5] or "07:00",
        "frequency": form.get("frequency") or "daily",
        "weekday": form.get("weekday") or "monday",
    }
    for name in LISTS:
        items = lines(form.get(name))
        if len(items) > max_topics:
            refused[name] = f"Give at most {max_topics} lines here (you gave {len(items)})."
        data[name] = items
    found: list[str] = []
    given = [("library", form.get("library").encode())]
    if form.files.get("library_file", ("", b""))[1]:
        given.append(form.files["library_file"])
    for label, raw in given:
        try:
            found += library_files.read(raw, label).keys if raw.strip() else ()
        except SubscriberError as exc:
            refused["library"] = (
                f"We could not read {'this list' if label == 'library' else repr(label)}: "
                f"{str(exc).removeprefix(f'{label}: ')}. Give arXiv ids, links or titles one "
                "per line, or a BibTeX, RIS or CSL-JSON export."
            )
    data["library"] = list(library_files.unique(found))
    max_papers = form.get("max_papers").strip()
    data["max_papers"] = int(max_papers) if max_papers.isdigit() else max_papers or 10
    return Posted(data, refused)


def validate(data: Mapping[str, Any], refused: Mapping[str, str] | None = None) -> Subscriber:
    """The checked subscriber, or ``FormErrors`` with each field's problem: what the profile's
    rules find, and what the form ``refused`` (which wins for the same field)."""
    refused = dict(refused or {})
    try:
        sub = from_dict(data, "web")
    except ProfileError as exc:
        raise FormErrors({p.field: p.reader for p in exc.problems} | refused) from None
    if refused:
        raise FormErrors(refused)
    return sub


def form_values(sub: Subscriber | None, form: Form | None = None) -> dict[str, str]:
    """What the form's inputs show: a stored profile, or what was just posted."""
    if form is not None:
        return dict(form.fields)
    data = to_data(sub or BLANK)
    values = {n: "\n".join(v) if isinstance(v, list) else str(v) for n, v in data.items()}
    values = {name: values[name] for name in ON_FORM if values[name]}
    if sub is not None:
        values["paused"] = "" if sub.active else "on"
    return values


def stored_profile(sub: Subscriber) -> dict[str, Any]:
    """A validated profile as JSON-ready data that ``validate`` turns back into ``sub``."""
    data = to_data(sub)
    del data["active"]  # a pending sign-up becomes active when confirmed
    return data
