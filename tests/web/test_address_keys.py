"""Address keys that fold the spellings a provider delivers to one inbox (issue 24, item 6):
per-address sign-up limits and suppressions hold across Gmail dots, googlemail.com, +tags
and Yahoo -tags, on SQLite and PostgreSQL, while mail goes to the address as typed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from newsletter import addresses
from newsletter.app.accounts import Site
from newsletter.delivery.memory import MemoryMailer
from newsletter.models import Subscriber
from newsletter.store import outbox as store
from newsletter.store.profiles import list_subscribers, same_inbox, upsert_subscriber

from .conftest import NOW, confirm_link, subscribe_and_confirm
from .test_equal_answers import db_site, reader


@pytest.mark.parametrize(("typed", "inbox"), [
    ("J.Doe+news@googlemail.com", "jdoe@gmail.com"),
    ("j.o.h.n.d.o.e@Gmail.com", "johndoe@gmail.com"),
    ("Jo Doe <jo.doe@gmail.com>", "jodoe@gmail.com"),
    ("base-shopping@yahoo.com", "base@yahoo.com"),
    ("base-shopping@yahoo.co.uk", "base@yahoo.co.uk"),
    ("a.b-c_d+x@proton.me", "abcd@proton.me"),
    ("first.last+tag@outlook.com", "first.last@outlook.com"),
    ("jean-paul@example.org", "jean-paul@example.org"),  # hyphens count elsewhere
    ("a.b@example.org", "a.b@example.org"),  # and so do dots
    ("jo+x@example.org", "jo+x@example.org"),  # a +tag may be a mailbox of its own there
    ("name@Bücher.de", "name@xn--bcher-kva.de"),
])
def test_mailbox_keys_fold_only_what_the_provider_ignores(typed: str, inbox: str) -> None:
    assert addresses.mailbox_key(typed) == inbox


def test_limit_keys_also_drop_a_plus_tag_anywhere() -> None:
    assert addresses.limit_key("jo+x@example.org") == "jo@example.org"
    assert addresses.limit_key("J.Doe+a@googlemail.com") == "jdoe@gmail.com"
    assert addresses.limit_key("jean-paul@example.org") == "jean-paul@example.org"


@pytest.fixture
def site(database_url: str, tmp_path: Path, mailer: MemoryMailer) -> Iterator[Site]:
    made = db_site(database_url, tmp_path, mailer, signups_per_address_day=2)
    yield made
    made.engine.dispose()


@pytest.mark.parametrize("variants", [
    ["jdoe@gmail.com", "j.doe@gmail.com", "J.D.O.E@googlemail.com", "jdoe+x@gmail.com"],
    ["base-a@yahoo.com", "base-b@yahoo.com", "base@yahoo.com", "BASE-c@yahoo.com"],
    ["jo@example.org", "jo+a@example.org", "jo+b@example.org", "Jo+c@example.org"],
])
def test_the_per_address_limit_holds_across_spellings(
    site: Site, mailer: MemoryMailer, variants: list[str]
) -> None:
    said = [site.signup(reader(v), f"198.51.100.{i}") for i, v in enumerate(variants)]
    assert said.count("confirmation queued") == 2
    assert said[2:] == ["address limit reached, no email sent"] * 2
    assert [m.to for m in mailer.outbox] == variants[:2]  # each as typed


def test_a_complaint_stops_every_spelling_of_the_inbox(site: Site, mailer: MemoryMailer) -> None:
    with site.engine.begin() as conn:
        store.suppress(conn, "J.Doe@gmail.com", "complained", now=NOW)
        found = store.suppressed(conn, ["jdoe@googlemail.com", "j.d.o.e+x@gmail.com",
                                        "jdoe@example.org"])
    assert found == {"jdoe@googlemail.com": "complained", "j.d.o.e+x@gmail.com": "complained"}
    assert site.signup(reader("jdoe@googlemail.com"), "198.51.100.9") == (
        "address complained, no email sent")
    assert mailer.outbox == []
    with site.engine.begin() as conn:
        assert store.unsuppress(conn, "jdoe@googlemail.com")  # a confirmed new sign-up, say
        # The inbox gets mail again at the spelling confirmed; the spelling that complained
        # stays suppressed as it was written.
        assert store.suppressed(conn, ["j.doe@gmail.com", "jdoe@googlemail.com"]) == {
            "j.doe@gmail.com": "complained"}


def test_an_idn_reader_signs_up_and_confirms_as_typed(
    client: TestClient, mailer: MemoryMailer, site: Site
) -> None:
    assert subscribe_and_confirm(client, mailer, email="name@bücher.de").status_code == 200
    (sent,) = mailer.outbox
    assert sent.to == "name@bücher.de"  # kept as typed; the wire form has the domain in IDNA
    assert sent.raw is not None and b"To: name@xn--bcher-kva.de\r\n" in sent.raw
    stored = site.stored("name@bücher.de")
    assert stored is not None and stored.status == "active"


def test_a_new_spelling_of_a_stored_readers_inbox_is_the_same_reader(
    site: Site, mailer: MemoryMailer
) -> None:
    with site.engine.begin() as conn:
        upsert_subscriber(conn, replace(reader("jdoe@gmail.com"), origin="web"), NOW,
                          status="active")
    site.signup(Subscriber(email="J.Doe+papers@googlemail.com", topics=("protein folding",)),
                "198.51.100.1")
    (sent,) = mailer.outbox
    assert sent.to == "J.Doe+papers@googlemail.com"  # the confirmation goes where typed
    token = parse_qs(urlsplit(confirm_link(mailer)).query)["token"][0]
    site.confirm(token)
    with site.engine.connect() as conn:
        stored = list_subscribers(conn)
    assert [(s.subscriber.email, s.subscriber.topics, s.status) for s in stored] == [
        ("jdoe@gmail.com", ("protein folding",), "active")]  # one reader, not two


def test_another_persons_address_is_not_taken_for_the_same_inbox(
    site: Site, mailer: MemoryMailer
) -> None:
    with site.engine.begin() as conn:
        upsert_subscriber(conn, reader("jean-paul@example.org"), NOW, status="active")
        upsert_subscriber(conn, reader("j.doe@gmail.com"), NOW, status="active")
        assert same_inbox(conn, "jean@example.org") is None
        assert same_inbox(conn, "jdoe2@gmail.com") is None
        found = same_inbox(conn, "jdoe@googlemail.com")
    assert found is not None and found.subscriber.email == "j.doe@gmail.com"
