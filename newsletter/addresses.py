"""Email addresses, once: check, split, normalise and format them, and encode their domain.

Every layer (profiles, the store, the web, the mailers) calls these, so "the same reader" and
"a valid address" mean one thing everywhere.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

VALID = re.compile(
    r"^(?=[!-~]+$)[^@\s<>,;\"'()]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
_NAMED = re.compile(r"\s*(.*?)\s*<([^<>]+)>\s*", re.DOTALL)


MAX_LENGTH = 254  # the longest address SMTP carries (RFC 5321's 256-octet path less <>)


def is_valid(address: str) -> bool:
    """True for a bare ASCII address with a dotted domain (what a subscriber may give)."""
    address = address.strip()
    return len(address) <= MAX_LENGTH and bool(VALID.match(address))


def is_mailbox(value: str) -> bool:
    """True for ``addr`` or ``Name <addr>`` with a local part and a domain (a sender's form,
    where ``localhost`` is allowed)."""
    bare = split(value)[1]
    user, at, domain = bare.rpartition("@")
    return bool(at and user and domain) and not any(c in bare for c in ' <>,;"\r\n\t')


def split(address: str) -> tuple[str, str]:
    """(display name, bare address) of ``"Name <a@b>"``, also when the name is unquoted and
    holds commas or semicolons ("Smith, Jo <jo@x.org>"), which ``parseaddr`` gets wrong."""
    named = _NAMED.fullmatch(address)
    if named:
        return _unquote(named.group(1).strip()), named.group(2).strip()
    return parseaddr(address)


def _unquote(name: str) -> str:
    """A display name without its quoted-string quotes and escapes (RFC 5322 3.2.4)."""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return re.sub(r"\\(.)", r"\1", name[1:-1]).strip()
    return name


def key(address: str) -> str:
    """The identity of an address: bare and lower-cased (``"Jo <Jo@X.org>"`` -> ``jo@x.org``)."""
    return split(address)[1].strip().lower() or address.strip().lower()


def limit_key(address: str) -> str:
    """The mailbox behind an address for rate limits: ``Jo+news@X.org`` counts as ``jo@x.org``
    (a +tag reaches the same inbox)."""
    local, _, domain_name = key(address).rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain_name}"


def display(name: str, address: str) -> str:
    """``Name <address>`` as text, not encoded: the MIME builder encodes a header once."""
    name = " ".join(name.split())
    if '"' in name or "\\" in name:
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>" if name else address


def domain(address: str) -> str:
    """The lower-cased domain of an address (empty when it has none)."""
    bare = split(address)[1]
    return bare.rpartition("@")[2].lower() if "@" in bare else ""


def idna(domain_name: str) -> str:
    """A domain as ASCII (IDNA); UnicodeError when it cannot be one."""
    return domain_name.encode("idna").decode("ascii")
