"""The MIME message: structure, list headers (RFC 2369/2919/8058), header safety, DKIM."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import dkim
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter import addresses, signed_links
from newsletter.config import DeliverySettings
from newsletter.delivery.compose import Composer
from newsletter.delivery.dkim import dkim_signer
from newsletter.delivery.message import clean_header, mime_bytes, render
from newsletter.errors import ConfigError, DeliveryError
from newsletter.models import OutgoingEmail

from .conftest import NOW, SECRET, newsletter_settings, sample


def _parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _composer(**delivery: str) -> Composer:
    settings = newsletter_settings()
    from dataclasses import replace
    settings = replace(settings, reply_to="Editors <editors@news.example.org>")
    return Composer(settings, DeliverySettings(**delivery), SECRET)  # type: ignore[arg-type]


def test_composed_message_has_every_required_header() -> None:
    email = _composer(unsubscribe_mailto="unsub@news.example.org").compose(
        to="Ada Lovelace <ada@example.com>", subject="Your papers", text="plain body",
        html="<p>html body</p>", now=NOW)
    assert email.raw is not None and b"\r\n" in email.raw and b"\n\n" not in email.raw
    assert b"\r\nList-Unsubscribe: <https://news.example.org/unsubscribe?token=" in email.raw
    msg = _parse(email.raw)
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert msg["From"] == "Paper Digest <digest@news.example.org>"
    assert msg["To"] == "Ada Lovelace <ada@example.com>"
    assert msg["Date"] == "Mon, 05 Jan 2026 07:00:00 +0000"
    assert re.fullmatch(r"<[0-9a-f]{32}@news\.example\.org>", msg["Message-ID"])
    assert msg["List-Id"] == '"Paper Digest" <paper-digest.news.example.org>'
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Reply-To"] == "Editors <editors@news.example.org>"
    https, mailto = [v.strip() for v in msg["List-Unsubscribe"].split(",")]
    assert mailto == "<mailto:unsub@news.example.org?subject=unsubscribe>"
    url = https.strip("<>")
    assert url.startswith("https://news.example.org/unsubscribe?token=")
    token = url.split("token=")[1]
    assert signed_links.verify(SECRET, "unsubscribe", token, now=NOW).subject == "ada@example.com"


def test_control_characters_never_reach_a_header() -> None:
    evil = sample(1, subject="Hi\r\nBcc: victim@example.net\x00\x1b[31m\u2028there")
    email = OutgoingEmail(evil.message_id, evil.sender, evil.to, evil.subject, evil.text,
                          evil.html, headers=(("X-Note", "a\nb\rc"),))
    raw = mime_bytes(email)
    msg = _parse(raw)
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Hi Bcc: victim@example.net [31m there"
    assert msg["X-Note"] == "a b c"
    assert clean_header("\t a\r\n\r\n b \x7f") == "a b"


def test_unicode_subject_and_display_name_are_encoded_and_survive() -> None:
    email = sample(2, to="Zoë Ågren <zoe@example.com>", subject="Σύνοψη — 🧠 papers")
    raw = mime_bytes(email)
    assert raw.isascii()
    msg = _parse(raw)
    assert msg["Subject"] == "Σύνοψη — 🧠 papers"
    assert msg["To"].addresses[0].display_name == "Zoë Ågren"


@pytest.mark.parametrize("name", ["From", "subject", "Message-ID", "Bad Name", "X:Y"])
def test_extra_headers_cannot_override_or_be_malformed(name: str) -> None:
    email = sample(3)
    email = OutgoingEmail(email.message_id, email.sender, email.to, email.subject, email.text,
                          email.html, headers=((name, "x"),))
    with pytest.raises(DeliveryError):
        mime_bytes(email)


def test_bad_recipient_is_one_clear_error() -> None:
    with pytest.raises(DeliveryError, match="To address 'nobody' is not an email address"):
        render(sample(4, to="nobody"))


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed; it generates the DKIM test key")
    folder = tmp_path_factory.mktemp("dkim")
    key = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def test_dkim_signature_verifies_and_covers_list_unsubscribe(dkim_key: tuple[Path, bytes]) -> None:
    key, record = dkim_key
    signer = dkim_signer(key, "s2026", "news.example.org")
    composer = Composer(newsletter_settings(), DeliverySettings(), SECRET, signer)
    email = composer.compose(to="ada@example.com", subject="Papers", text="t", html="<p>h</p>",
                             now=NOW)
    assert email.raw is not None

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"s2026._domainkey.news.example.org."
        return record

    assert dkim.verify(email.raw, dnsfunc=dns)
    signature = _parse(email.raw)["DKIM-Signature"].replace(" ", "")
    signed = re.search(r"h=([^;]+)", signature)
    assert signed is not None
    names = signed.group(1).lower().split(":")
    assert {"from", "subject", "list-unsubscribe", "list-unsubscribe-post"} <= set(names)
    tampered = email.raw.replace(b"https://news.example.org/unsub", b"https://news.example.net/unsub")
    assert tampered != email.raw
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_dkim_config_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"delivery\.dkim_key_file"):
        dkim_signer(tmp_path / "missing.pem", "s", "d.org")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    with pytest.raises(ConfigError, match="not a usable private key"):
        dkim_signer(junk, "s", "d.org")


def test_composer_repr_hides_the_secret() -> None:
    assert SECRET not in repr(_composer())


@given(st.text(max_size=200), st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_no_text_can_add_or_split_a_header(subject: str, name: str) -> None:
    email = sample(5, subject=subject or "x", to=f"{name} <reader5@example.com>".strip())
    raw = mime_bytes(email)
    head = raw.split(b"\r\n\r\n", 1)[0]
    names = [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n")
             if line and not line[:1].isspace()]
    assert names.count(b"subject") == 1 and names.count(b"to") == 1
    assert set(names) <= {b"from", b"to", b"subject", b"date", b"message-id",
                          b"list-unsubscribe-post", b"mime-version", b"content-type"}
    assert b"\r" not in head.replace(b"\r\n", b"") and b"\n" not in head.replace(b"\r\n", b"")


def test_display_names_with_commas_stay_one_recipient() -> None:
    from newsletter import addresses
    from newsletter.delivery.api.http import formatted

    email = sample(6, to="Smith, Jo <Jo@Example.com>")
    msg = _parse(mime_bytes(email))
    (addr,) = msg["To"].addresses
    assert (addr.display_name, addr.addr_spec) == ("Smith, Jo", "Jo@Example.com")
    assert addresses.key(email.to) == "jo@example.com"
    assert formatted(email.to) == '"Smith, Jo" <Jo@Example.com>'


_NAME = st.text(st.characters(blacklist_characters='<>"\\', blacklist_categories=("Cs",)),
                max_size=40)
_BODY = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)


@given(_NAME, st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=120),
       _BODY, _BODY)
@settings(max_examples=300, deadline=None)
def test_every_header_and_body_survives_a_round_trip(
    name: str, subject: str, text: str, html: str
) -> None:
    """What a mail client decodes is exactly what was composed (after header cleaning)."""
    base = sample(7)
    email = OutgoingEmail(base.message_id, base.sender, f"{name} <reader7@example.com>",
                          subject, text, html, headers=base.headers)
    raw = mime_bytes(email)
    assert raw.isascii() and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    msg = _parse(raw)
    assert msg["Subject"] == clean_header(subject)
    # Decoded as RFC 2047 section 6.2 says (whitespace between encoded words dropped), which
    # the address parser of email.policy.default does not do for long folded names.
    header = message_from_bytes(raw, policy=policy.compat32)["To"]
    shown, bare = parseaddr(re.sub(r"\r\n\s", " ", header))
    assert (str(make_header(decode_header(shown))), bare) == (
        clean_header(name), "reader7@example.com")
    plain, rich = (part.get_content() for part in msg.iter_parts())

    def lines(value: str) -> str:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        return value if value.endswith("\n") else value + "\n"

    assert (lines(plain), lines(rich)) == (lines(text), lines(html))


def test_non_ascii_list_name_and_domain_are_encoded_not_mangled() -> None:
    from newsletter.delivery.message import list_id

    value = list_id("Zoë's Digest", "d@news.example.org")
    email = sample(8, to="Jo <jo@bücher.example>")
    email = OutgoingEmail(email.message_id, email.sender, email.to, email.subject, email.text,
                          email.html, headers=(("List-Id", value),))
    msg = _parse(mime_bytes(email))
    assert msg["List-Id"] == "Zoë's Digest <zo-s-digest.news.example.org>"
    assert msg["To"].addresses[0].domain == "xn--bcher-kva.example"
    # a non-ASCII local part stays UTF-8 (RFC 6532); such a message goes out over SMTPUTF8
    assert "\r\nTo: jö@example.com\r\n".encode() in mime_bytes(sample(9, to="jö@example.com"))


NAMES = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85"),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(NAMES)
def test_any_unicode_display_name_reads_back_unchanged_in_to(name: str) -> None:
    """A reader's name, as the application composes it, survives the MIME builder once encoded:
    no double encoding, no stray backslashes (email.policy.default is the reader)."""
    composer = Composer(newsletter_settings(), DeliverySettings(), "secret")
    email = composer.compose(
        to=addresses.display(name, "reader@example.com"), subject="s", text="t", html="<p>h</p>",
        now=NOW,
    )
    parsed = message_from_bytes(email.raw or b"", policy=policy.default)
    (to,) = parsed["To"].addresses
    assert to.addr_spec == "reader@example.com"
    folded = re.search(rb"\r\nTo: (.*?)\r\n(?! )", email.raw or b"", re.S)
    if folded is not None and b"?=\r\n =?" in folded.group(1):
        # Several encoded words: Python's address parser puts a space between them that
        # RFC 2047 readers drop (the RFC decoding is checked exactly in the round-trip test
        # above); every character must still come back, in order.
        assert "".join(to.display_name.split()) == "".join(name.split())
    else:
        assert to.display_name == " ".join(name.split())
    if "=?" not in name:  # a name that itself starts like an encoded word is encoded as text
        assert "=?utf-8?b?PT91dGYt" not in (email.raw or b"").decode("ascii")  # never twice
