"""What other list managers' CSV exports hold: their column names for the address and the
name, and how each says a reader is unsubscribed, paused or never confirmed.

Mailchimp ("Email Address", "First Name", "Last Name"; one file per status: an unsubscribed
member has an UNSUB_TIME, a cleaned one a CLEAN_TIME), listmonk (email, name, status: enabled,
disabled or blocklisted), Substack (email, email_disabled) and Buttondown (email or
email_address, subscriber_type). A header is read once into one ``Role`` per column; the
columns a known export has and a profile does not are ignored, and named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

EMAIL = ("email", "email address", "email_address", "e-mail", "e-mail address")
FIRST = ("first name", "first_name", "firstname", "fname")
LAST = ("last name", "last_name", "lastname", "lname")
# Columns only a known export has: a header holding one of them is that export's.
SIGNATURES = {
    "Mailchimp": frozenset({"email address", "member_rating", "optin_time", "confirm_time",
                            "leid", "euid", "unsub_time", "clean_time"}),
    "listmonk": frozenset({"uuid", "attributes"}),
    "Substack": frozenset({"active_subscription", "email_disabled", "expiry", "plan"}),
    "Buttondown": frozenset({"subscriber_type", "creation_date", "email_address", "metadata"}),
}
STATUS_COLUMNS = ("status", "subscriber_type", "email_disabled", "unsub_time", "clean_time")
LISTMONK = {"enabled": "active", "disabled": "paused", "blocklisted": "unsubscribed"}
BUTTONDOWN_OFF = {"unsubscribed": "unsubscribed", "removed": "unsubscribed",
                  "spammy": "unsubscribed", "paused": "paused"}
TRUE = ("true", "yes", "1")


@dataclass(frozen=True)
class Role:
    """What one header column holds: a profile field, part of the name, a status, or
    nothing this newsletter keeps (``ignored``)."""

    name: str  # as written in the header
    field: str = ""  # a profile field or "status"
    part: str = ""  # "first", "last" or a foreign status column
    ignored: bool = False


def source_of(columns: Sequence[str]) -> str:
    """The list manager whose export has these (lower-cased) columns, or ""."""
    have = set(columns)
    return next((name for name, marks in SIGNATURES.items() if have & marks), "")


def role(name: str, column: str, known: Sequence[str], source: str) -> Role | None:
    """The role of one column (None: unknown to a file of our own format)."""
    if column in EMAIL:
        return Role(name, "email")
    if column in FIRST:
        return Role(name, part="first")
    if column in LAST:
        return Role(name, part="last")
    if source and column in STATUS_COLUMNS and (source, column) != ("", "status"):
        return Role(name, part=f"{source}:{column}")
    if column in known:
        return Role(name, column)
    return Role(name, ignored=True) if source else None


def status(parts: Mapping[str, str]) -> tuple[str, str]:
    """The status a known export gives a row (or "") and, for a row not to import, why."""
    for part, value in parts.items():
        value = value.strip().lower()
        if part == "listmonk:status" and value in LISTMONK:
            return LISTMONK[value], ""
        if part == "Buttondown:subscriber_type" and value == "unactivated":
            return "", "never confirmed their address (Buttondown: unactivated)"
        if part == "Buttondown:subscriber_type" and value in BUTTONDOWN_OFF:
            return BUTTONDOWN_OFF[value], ""
        if part == "Substack:email_disabled" and value in TRUE:
            return "unsubscribed", ""
        if part == "Mailchimp:unsub_time" and value:
            return "unsubscribed", ""
        if part == "Mailchimp:clean_time" and value:
            return "", "cleaned by Mailchimp (its address bounced)"
    return "", ""
