"""A profile a reader gives on the subscriber site (``Posted``), checked by the profile's rules:
every problem at once, in the reader's words and the form's order (``FormErrors``), and the data
a sign-up keeps until it is confirmed (``stored_profile``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from newsletter.errors import SubscriberError
from newsletter.models import Subscriber
from newsletter.profile import BY_NAME, ProfileError, from_dict, to_data


@dataclass(frozen=True)
class Posted:
    """A posted profile: its fields as ``from_dict`` reads them, and what the form itself
    refused (a list longer than the site allows, a paste that is not a library)."""

    data: dict[str, Any]
    refused: dict[str, str] = field(default_factory=dict)


class FormErrors(SubscriberError):
    """A refused form: for each field with a problem, in the form's order, what to do."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(sorted(errors.items(), key=lambda item: _position(item[0])))
        super().__init__("; ".join(f"{name}: {text}" for name, text in self.errors.items()))


def _position(name: str) -> int:
    """A field's place on the form; the fields readers do not edit there come after."""
    f = BY_NAME.get(name)
    return f.web.place if f is not None and f.web else 10_000


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


def stored_profile(sub: Subscriber) -> dict[str, Any]:
    """A validated profile as JSON-ready data that ``validate`` turns back into ``sub``."""
    data = to_data(sub)
    del data["active"]  # a pending sign-up becomes active when confirmed
    return data
