"""Build the standards-correct MIME message (text + HTML, list headers, RFC 8058) for one email.

The bytes are written directly rather than through ``email.message``: at 100,000 messages
per issue the email package's header registry and pure-Python quoted-printable encoder cost
milliseconds per message, while this builder costs a fraction of one. Every header value
passes through ``clean_header`` first, so CR, LF and other control characters from templates
or subscriber data can never split or inject a header; non-ASCII text becomes RFC 2047
encoded words, and bodies are quoted-printable UTF-8 with CRLF line ends.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, quote

from newsletter import addresses
from newsletter.errors import DeliveryError
from newsletter.models import OutgoingEmail

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_HEADER_NAME = re.compile(r"[!-9;-~]+")
# Headers the message builder writes itself; extra headers may not override them.
_OWN = {"from", "to", "subject", "date", "message-id", "mime-version", "content-type",
        "content-transfer-encoding"}
_EW_PAYLOAD = 75 - len("=?utf-8?b??=")  # RFC 2047: an encoded word is at most 75 characters
ONE_CLICK = ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
MAX_LINE = 998  # RFC 5322's hard limit; folding at 78 would break long List-Unsubscribe URLs


def clean_header(value: str) -> str:
    """``value`` on one line: every run of control characters becomes a single space."""
    return " ".join(_CONTROL.sub(" ", value).split())


def domain_of(address: str) -> str:
    """The domain of ``"Name <user@domain>"`` (lower case, in IDNA: the form headers, DKIM
    and Message-IDs carry); DeliveryError when there is none or IDNA cannot encode it."""
    bare = addresses.split(address)[1]
    if "@" not in bare:
        raise DeliveryError(f"address {address!r} has no domain")
    try:
        return addresses.idna(bare.rpartition("@")[2])
    except UnicodeError:
        raise DeliveryError(f"address {address!r} has a domain IDNA cannot encode") from None


def make_message_id(sender: str) -> str:
    """A globally unique Message-ID on the sender's own domain."""
    return f"<{uuid.uuid4().hex}@{domain_of(sender)}>"


def _plain(text: str) -> bool:
    """True when ``text`` may go into a header as is: ASCII, and nothing that reads like an
    RFC 2047 encoded word (which a mail client would decode)."""
    return text.isascii() and "=?" not in text


def phrase(text: str) -> str:
    """A display name as an RFC 5322 phrase: quoted when ASCII, encoded words otherwise.

    A long name is cut into encoded words after a space where it has one, the space kept
    inside the word before (RFC 2047 readers drop the folding between encoded words).
    """
    text = clean_header(text)
    if _plain(text):
        return f'"{quote(text)}"'
    chunks: list[str] = []
    for word in text.split(" "):
        joined = f"{chunks[-1]} {word}" if chunks else word
        if chunks and len(base64.b64encode(joined.encode())) <= _EW_PAYLOAD:
            chunks[-1] = joined
        elif chunks:
            chunks[-1] += " "
            chunks.append(word)
        else:
            chunks.append(word)
    return "\r\n ".join(_encoded(piece) for chunk in chunks for piece in _fit(chunk))


def _encoded(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode('ascii')}?="


def _fit(text: str) -> list[str]:
    """``text`` cut (between characters) into pieces that each fit one encoded word."""
    pieces = [""]
    for ch in text:
        if len(base64.b64encode((pieces[-1] + ch).encode())) > _EW_PAYLOAD:
            pieces.append("")
        pieces[-1] += ch
    return pieces


def list_id(name: str, sender: str, configured: str = "") -> str:
    """The List-Id value (RFC 2919): ``"Name" <configured or slug.sender-domain>``."""
    ident = clean_header(configured or f"{_slug(name)}.{domain_of(sender)}").strip("<>")
    return f"{phrase(name)} <{ident}>" if name else f"<{ident}>"


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


def _address(value: str, field: str) -> str:
    """``"Name" <user@domain>`` with the name encoded as needed and the domain in IDNA; a
    non-ASCII local part stays UTF-8 (RFC 6532: such a message needs SMTPUTF8 to travel)."""
    name, bare = addresses.split(clean_header(value))
    user, at, domain = bare.rpartition("@")
    if not at or not user or not domain or " " in bare:
        raise DeliveryError(f"{field} address {value!r} is not an email address")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise DeliveryError(f"{field} address {value!r} has an invalid domain") from None
    return f"{phrase(name)} <{user}@{domain}>" if name else f"{user}@{domain}"


def _text_header(name: str, value: str) -> str:
    """An unstructured header line: as is when plain ASCII, RFC 2047 encoded words otherwise."""
    value = clean_header(value)
    if _plain(value) and len(name) + 2 + len(value) <= MAX_LINE:
        return f"{name}: {value}"
    return f"{name}: " + Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


def _structured(name: str, value: str) -> str:
    """A header whose value the builder made (ASCII); folded at spaces past 998 characters."""
    line = f"{name}: {clean_header(value)}"
    if not line.isascii():
        raise DeliveryError(f"header {name} must be ASCII, got {value!r}")
    out = []
    while len(line) > MAX_LINE and " " in line[1:MAX_LINE]:
        cut = line.rindex(" ", 1, MAX_LINE)
        out.append(line[:cut])
        line = line[cut:]
    return "\r\n".join([*out, line])


def _qp(text: str) -> bytes:
    """UTF-8 quoted-printable with CRLF line ends and a final line break."""
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    return binascii.b2a_qp(body.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def _part(subtype: str, body: str) -> bytes:
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode("ascii") + _qp(body)


_ADDRESS_HEADERS = {"reply-to", "cc", "sender"}
_PHRASE_HEADERS = {"list-id"}  # already built with ``phrase`` by ``list_id``


def _extra(name: str, value: str, message_id: str) -> str:
    name = clean_header(name)
    lower = name.lower()
    if lower in _OWN or not _HEADER_NAME.fullmatch(name):
        raise DeliveryError(f"header {name!r} may not be set on {message_id}")
    if lower in _ADDRESS_HEADERS:
        return f"{name}: {_address(value, name)}"
    if lower in _PHRASE_HEADERS or value.isascii():
        return _structured(name, value)
    return _text_header(name, value)


def mime_bytes(email: OutgoingEmail, *, date: datetime | None = None) -> bytes:
    """The multipart/alternative message for ``email`` with all its headers, as wire bytes."""
    # "=_" never occurs in quoted-printable text; derived from the Message-ID so that the same
    # message built twice (a preview and the send) has the same bytes but for Date and DKIM
    boundary = "=_" + hashlib.sha256(email.message_id.encode()).hexdigest()[:32]
    lines = [
        f"From: {_address(email.sender, 'From')}",
        f"To: {_address(email.to, 'To')}",
        _text_header("Subject", email.subject),
        f"Date: {format_datetime(date or datetime.now(UTC))}",
        _structured("Message-ID", email.message_id),
        *(_extra(name, value, email.message_id) for name, value in email.headers),
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    sep = f"\r\n--{boundary}\r\n".encode("ascii")
    return b"".join((
        "\r\n".join(lines).encode("utf-8"), b"\r\n", sep, _part("plain", email.text),
        sep, _part("html", email.html), f"\r\n--{boundary}--\r\n".encode("ascii"),
    ))


Signer = Callable[[bytes], bytes]


def render(
    email: OutgoingEmail, *, date: datetime | None = None, signer: Signer | None = None
) -> OutgoingEmail:
    """``email`` with ``raw`` set to its MIME bytes (CRLF line ends), DKIM-signed if asked."""
    raw = mime_bytes(email, date=date)
    if signer is not None:
        raw = signer(raw)
    return OutgoingEmail(
        message_id=email.message_id, sender=email.sender, to=email.to, subject=email.subject,
        text=email.text, html=email.html, headers=email.headers, raw=raw,
    )


def raw_bytes(email: OutgoingEmail) -> bytes:
    """The message as it goes on the wire: the stored bytes, or freshly built ones."""
    return email.raw if email.raw is not None else mime_bytes(email)
