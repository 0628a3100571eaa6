"""Build the standards-correct MIME message (text + HTML, list headers, RFC 8058) for one email.

Every header value passes through ``clean_header`` so CR, LF and other control characters
from templates or subscriber data can never split or inject a header.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from newsletter.errors import DeliveryError
from newsletter.models import OutgoingEmail
from newsletter.store.outbox import split_address

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
# Headers the message builder writes itself; extra headers may not override them.
_OWN = {"from", "to", "subject", "date", "message-id", "mime-version", "content-type",
        "content-transfer-encoding"}
ONE_CLICK = ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
# Lines may reach RFC 5322's hard limit of 998: with the usual 78 the email package would turn
# a long List-Unsubscribe URL into RFC 2047 encoded words, which no mail client understands.
WIRE = SMTP.clone(max_line_length=998)


def clean_header(value: str) -> str:
    """``value`` on one line: every run of control characters becomes a single space."""
    return " ".join(_CONTROL.sub(" ", value).split())


def domain_of(address: str) -> str:
    """The domain of ``"Name <user@domain>"`` (lower case); DeliveryError when there is none."""
    bare = split_address(address)[1]
    if "@" not in bare:
        raise DeliveryError(f"address {address!r} has no domain")
    return bare.rpartition("@")[2].lower()


def make_message_id(sender: str) -> str:
    """A globally unique Message-ID on the sender's own domain."""
    return f"<{uuid.uuid4().hex}@{domain_of(sender)}>"


def list_id(name: str, sender: str, configured: str = "") -> str:
    """The List-Id value (RFC 2919): ``"Name" <configured or slug.sender-domain>``."""
    ident = configured or f"{_slug(name)}.{domain_of(sender)}"
    return f'"{clean_header(name)}" <{clean_header(ident).strip("<>")}>' if name else f"<{ident}>"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "newsletter"


def list_headers(
    *, list_id_value: str, unsubscribe_url: str, unsubscribe_mailto: str = "", reply_to: str = ""
) -> tuple[tuple[str, str], ...]:
    """List-Id, List-Unsubscribe (HTTPS first, optional mailto), One-Click POST, Reply-To."""
    links = [f"<{unsubscribe_url}>"]
    if unsubscribe_mailto:
        links.append(f"<mailto:{unsubscribe_mailto}?subject=unsubscribe>")
    headers = [("List-Id", list_id_value), ("List-Unsubscribe", ", ".join(links)), ONE_CLICK]
    if reply_to:
        headers.append(("Reply-To", reply_to))
    return tuple(headers)


def _address(value: str, field: str) -> Address:
    name, bare = split_address(clean_header(value))
    if "@" not in bare:
        raise DeliveryError(f"{field} address {value!r} is not an email address")
    user, _, domain = bare.rpartition("@")
    return Address(display_name=name, username=user, domain=domain)


def build_mime(email: OutgoingEmail, *, date: datetime | None = None) -> EmailMessage:
    """The multipart/alternative message for ``email`` with all its headers."""
    msg = EmailMessage(policy=WIRE)
    msg["From"] = _address(email.sender, "From")
    msg["To"] = _address(email.to, "To")
    msg["Subject"] = clean_header(email.subject)
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = clean_header(email.message_id)
    for name, value in email.headers:
        name = clean_header(name)
        if name.lower() in _OWN or not re.fullmatch(r"[!-9;-~]+", name):
            raise DeliveryError(f"header {name!r} may not be set on {email.message_id}")
        msg[name] = clean_header(value)
    msg.set_content(email.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(email.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


Signer = Callable[[bytes], bytes]


def render(
    email: OutgoingEmail, *, date: datetime | None = None, signer: Signer | None = None
) -> OutgoingEmail:
    """``email`` with ``raw`` set to its MIME bytes (CRLF line ends), DKIM-signed if asked."""
    raw = build_mime(email, date=date).as_bytes()
    if signer is not None:
        raw = signer(raw)
    return OutgoingEmail(
        message_id=email.message_id, sender=email.sender, to=email.to, subject=email.subject,
        text=email.text, html=email.html, headers=email.headers, raw=raw,
    )


def raw_bytes(email: OutgoingEmail) -> bytes:
    """The message as it goes on the wire: the stored bytes, or freshly built ones."""
    return email.raw if email.raw is not None else build_mime(email).as_bytes()
