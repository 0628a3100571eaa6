"""Internationalised addresses (issue 24, item 6): ``name@bücher.de`` is accepted as typed and
travels with its domain in IDNA (punycode); a non-ASCII local part travels over SMTPUTF8 when
the relay offers it and fails in one line when it does not; an IDN sender works, and a sender
no relay could carry is refused when the settings are read."""

from __future__ import annotations

from email.parser import BytesHeaderParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsletter import addresses
from newsletter.config import DeliverySettings, NewsletterSettings, config_from_dict
from newsletter.delivery.compose import Composer
from newsletter.delivery.outbox import send_due
from newsletter.errors import ConfigError
from newsletter.store import outbox as store

from .conftest import NOW, SECRET
from .smtp_sink import Sink
from .test_smtp import SETTINGS, smtp_mailer

IDN_SENDER = "Bücher Digest <news@bücher.de>"
PUNY = "xn--bcher-kva.de"


@pytest.mark.parametrize(("typed", "valid"), [
    ("name@bücher.de", True),
    ("Name@BÜCHER.de", True),
    ("δοκιμή@παράδειγμα.δοκιμή", True),
    ("用户@例子.广告", True),
    ("name@bü..de", False),  # an empty label: IDNA cannot encode it
    ("na me@bücher.de", False),
    ("name@bücher", False),  # no dot
    ("näme<x>@bücher.de", False),
    ("name@" + "ü" * 64 + ".de", False),  # a label too long
])
def test_internationalised_addresses_are_accepted_in_unicode(typed: str, valid: bool) -> None:
    assert addresses.is_valid(typed) is valid


def compose(to: str, sender: str = IDN_SENDER) -> Composer:
    settings = NewsletterSettings(name="Bücher Digest", sender=sender,
                                  base_url="https://news.example.org")
    return Composer(settings, DeliverySettings(), SECRET)


def queue(engine: Engine, to: str) -> str:
    email = compose(to).compose(to=to, subject="Ihre Bücher", text="Hallo", html="<p>Hallo</p>",
                                now=NOW)
    with engine.begin() as conn:
        assert store.enqueue(conn, email, issue_id="2026-01-05", now=NOW)
    return email.message_id


def test_an_idn_address_and_sender_travel_in_punycode(engine: Engine, sink: Sink) -> None:
    message_id = queue(engine, "Leser <name@bücher.de>")
    assert message_id.endswith(f"@{PUNY}>")  # the old code put "bücher.de" there, then failed
    assert send_due(engine, smtp_mailer(sink), SETTINGS, now=NOW).sent == 1
    ((mail_from, rcpt_tos, content),) = sink.handler.envelopes
    assert (mail_from, rcpt_tos) == (f"news@{PUNY}", [f"name@{PUNY}"])
    headers = BytesHeaderParser().parsebytes(content)
    assert headers["To"].endswith(f"<name@{PUNY}>") and headers["From"].endswith(f"<news@{PUNY}>")
    assert f"digest.{PUNY}>" in headers["List-Id"]
    with engine.connect() as conn:  # the reader is kept as typed
        assert conn.execute(sa.select(store.outbox.c.to_header)).scalar_one() == (
            "Leser <name@bücher.de>")


def test_a_non_ascii_local_part_goes_over_smtputf8(engine: Engine) -> None:
    queue(engine, "δοκιμή@παράδειγμα.δοκιμή")
    with Sink(enable_SMTPUTF8=True) as sink:
        assert send_due(engine, smtp_mailer(sink), SETTINGS, now=NOW).sent == 1
        ((_, rcpt_tos, content),) = sink.handler.envelopes
    assert rcpt_tos == ["δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp"]
    assert "To: δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp".encode() in content  # RFC 6532


def test_a_non_ascii_local_part_fails_in_one_line_without_smtputf8(engine: Engine) -> None:
    queue(engine, "δοκιμή@παράδειγμα.δοκιμή")
    with Sink(enable_SMTPUTF8=False) as sink:
        report = send_due(engine, smtp_mailer(sink), SETTINGS, now=NOW)
        assert sink.handler.envelopes == []
    assert (report.failed, report.deferred) == (1, 0)
    (error,) = report.errors
    assert "\n" not in error and "does not offer SMTPUTF8" in error


@pytest.mark.parametrize(("sender", "problem"), [
    ("Digest <nëws@bücher.de>", "has a non-ASCII local part"),
    ("Digest <news@bü..de>", "has a domain that IDNA cannot encode"),
])
def test_a_sender_no_relay_could_carry_is_refused_at_start_up(
    tmp_path: Path, sender: str, problem: str
) -> None:
    data = {"newsletter": {"sender": sender}}
    with pytest.raises(ConfigError) as caught:
        config_from_dict(data, tmp_path, str(tmp_path / "newsletter.toml"), {})
    text = str(caught.value)
    assert "\n" not in text and "newsletter.toml: key 'newsletter.sender' " + problem in text


def test_an_idn_sender_is_accepted_at_start_up(tmp_path: Path) -> None:
    data = {"newsletter": {"sender": IDN_SENDER, "reply_to": "antwort@bücher.de"}}
    config = config_from_dict(data, tmp_path, str(tmp_path / "newsletter.toml"), {})
    assert config.newsletter.sender == IDN_SENDER
