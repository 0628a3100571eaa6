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


_NOT_IN_LOCAL = set('@<>,;"\'()[]\\')


def is_valid(address: str) -> bool:
    """True for a bare address with a dotted domain (what a subscriber may give): ASCII, or
    internationalised (``name@bücher.de``, a domain IDNA can carry; a non-ASCII local part,
    which needs a relay with SMTPUTF8)."""
    address = address.strip()
    if address.isascii():
        return len(address) <= MAX_LENGTH and bool(VALID.match(address))
    local, at, domain_name = address.rpartition("@")
    if not at or not local or len(local.encode()) > 64 or not _unicode_local(local):
        return False
    try:
        ascii_domain = idna(domain_name)
    except UnicodeError:
        return False
    stand_in = "".join(c if c.isascii() else "a" for c in local)  # the ASCII rules for the rest
    whole = f"{local}@{ascii_domain}"
    return len(whole.encode()) <= MAX_LENGTH and bool(VALID.match(f"{stand_in}@{ascii_domain}"))


def _unicode_local(local: str) -> bool:
    return not any(c in _NOT_IN_LOCAL or c.isspace() or not c.isprintable() for c in local)


def is_mailbox(value: str) -> bool:
    """True for ``addr`` or ``Name <addr>`` with a local part and a domain (a sender's form,
    where ``localhost`` is allowed)."""
    bare = split(value)[1]
    user, at, domain = bare.rpartition("@")
    return bool(at and user and domain) and not any(c in bare for c in ' <>,;"\r\n\t')


def sender_problem(value: str) -> str:
    """Why ``value`` cannot be our sender (From, Reply-To, MAIL FROM), or "": a mailbox whose
    domain IDNA can carry and whose local part is ASCII (a relay without SMTPUTF8 could
    carry no message of ours otherwise)."""
    if not is_mailbox(value):
        return "is not an email address"
    user, _, domain_name = split(value)[1].rpartition("@")
    if not user.isascii():
        return "has a non-ASCII local part (only a relay with SMTPUTF8 could carry it)"
    try:
        idna(domain_name)
    except UnicodeError:
        return "has a domain that IDNA cannot encode"
    return ""


def needs_smtputf8(address: str) -> bool:
    """Whether an address can only travel over SMTPUTF8: its local part is not ASCII."""
    return not split(address)[1].rpartition("@")[0].isascii()


def ascii_address(address: str) -> str:
    """The bare address with its domain in IDNA (``name@xn--bcher-kva.de``), as SMTP
    commands and headers carry it; the local part as it is."""
    local, at, domain_name = split(address)[1].strip().rpartition("@")
    return f"{local}@{_ascii_domain(domain_name)}" if at else split(address)[1].strip()


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


# Providers whose documented rules make several spellings reach one inbox: domain -> (the
# domain it is the same as, characters the provider ignores in the local part, the character
# that starts a tag it drops). Only these are folded for "the same reader":
# - Gmail ignores dots in the user name and drops a +tag; googlemail.com is gmail.com
#   (Google's help page "Am I receiving someone else's email?", and Gmail's dot-less
#   "Yes, this is you" notes).
# - Proton ignores dots, hyphens and underscores and drops a +tag (its own web client strips
#   them: ProtonMail/WebClients, helpers/string.js, removeEmailAlias); proton.me,
#   protonmail.com, protonmail.ch and pm.me stay apart (one account has each, but not always).
# - Outlook.com (outlook, hotmail, live, msn), iCloud and Fastmail drop a +tag; dots count.
# - Yahoo has no +tags; its disposable addresses are ``base-keyword@yahoo.com``, so a -tag is
#   dropped for Yahoo's domains (hyphens are not allowed in Yahoo user names otherwise).
# Elsewhere a local part is the domain's own business (RFC 5321): ``jean-paul@x.org`` and
# ``a.b@x.org`` are other people than ``jean@x.org`` and ``ab@x.org``, so only the rate limits
# (``limit_key``) also drop a +tag there, the common convention (RFC 5233), where folding too
# much only makes a limit stricter.
_PLUS = ("", "+")
_PROVIDERS: dict[str, tuple[str, str, str]] = {
    "gmail.com": ("gmail.com", ".", "+"),
    "googlemail.com": ("gmail.com", ".", "+"),
    **{d: (d, "._-", "+") for d in ("proton.me", "protonmail.com", "protonmail.ch", "pm.me")},
    **{d: (d, *_PLUS) for d in ("outlook.com", "hotmail.com", "live.com", "msn.com",
                                "icloud.com", "me.com", "mac.com", "fastmail.com",
                                "fastmail.fm")},
    **{d: (d, "", "-") for d in ("yahoo.com", "ymail.com", "rocketmail.com")},
}
_YAHOO = re.compile(r"yahoo(\.co|\.com)?\.[a-z]{2,3}")  # yahoo.fr, yahoo.co.uk, yahoo.com.br


def _rules(domain_name: str) -> tuple[str, str, str]:
    if domain_name in _PROVIDERS:
        return _PROVIDERS[domain_name]
    return (domain_name, "", "-") if _YAHOO.fullmatch(domain_name) else (domain_name, "", "")


def mailbox_key(address: str) -> str:
    """The inbox behind an address, for telling that two spellings are the same reader
    (duplicate sign-ups, suppressions): ``key`` with the domain in IDNA and, for providers
    that document it, ignored characters removed and a tag dropped
    (``J.Doe+news@googlemail.com`` -> ``jdoe@gmail.com``). Mail still goes to the address
    as typed."""
    local, at, domain_name = key(address).rpartition("@")
    if not at:
        return key(address)
    domain_name = _ascii_domain(domain_name)
    same, ignored, tag = _rules(domain_name)
    if tag and tag in local[1:]:
        local = local[: local.index(tag, 1)]
    local = "".join(c for c in local if c not in ignored) or local
    return f"{local}@{same}"


def inbox_domains(address: str) -> tuple[str, ...]:
    """The domains whose addresses may reach the same inbox as ``address`` under another
    spelling (``gmail.com`` and ``googlemail.com``); () where the provider folds nothing,
    as only the exact address is that inbox there."""
    domain_name = _ascii_domain(domain(address))
    same, ignored, tag = _rules(domain_name)
    if not (ignored or tag):
        return ()
    return tuple(sorted({d for d, rule in _PROVIDERS.items() if rule[0] == same} | {domain_name}))


def limit_key(address: str) -> str:
    """The inbox behind an address for rate limits: ``mailbox_key``, and a +tag dropped
    whatever the domain (``Jo+news@X.org`` counts as ``jo@x.org``)."""
    local, _, domain_name = mailbox_key(address).rpartition("@")
    return f"{local.split('+', 1)[0] or local}@{domain_name}"


def _ascii_domain(domain_name: str) -> str:
    """The domain in IDNA when it can be, else as it is (an ASCII domain as it was written:
    its case kept, as mail to it always was)."""
    if domain_name.isascii():
        return domain_name
    try:
        return idna(domain_name)
    except UnicodeError:
        return domain_name


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
    """A domain as ASCII (IDNA), lower-cased; UnicodeError when it cannot be one."""
    return domain_name.lower().encode("idna").decode("ascii")
