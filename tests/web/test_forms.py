"""The subscribe and preferences forms are drawn and read from the profile schema: its web
fields in their places, with their labels and defaults, each input as its kind asks."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter.delivery.memory import MemoryMailer
from newsletter.profile import FIELDS, ON_WEB, from_stored, to_data
from newsletter.store.profiles import get_subscriber
from newsletter.web.forms import Form, FormRefused, form_values, profile_data, read_form

from .conftest import csrf_of, run_apart, subscribe, subscribe_and_confirm
from .test_account import edited, prefs_page

INPUT = re.compile(r'<(?:input|textarea|select|fieldset)[^>]* id="([a-z_]+)"')


def test_every_web_field_has_its_own_place_and_a_label() -> None:
    places = [f.web.place for f in FIELDS if f.web]
    assert len(places) == len(set(places))
    assert [f.web.place for f in ON_WEB if f.web] == sorted(places)
    assert all(f.web.label for f in ON_WEB if f.web)
    assert all(len(f.web.choices) in (0, len(f.options)) for f in ON_WEB if f.web)


def test_the_sign_up_form_shows_the_web_fields_in_their_places(client: TestClient) -> None:
    html = client.get("/").text
    shown = [name for name in INPUT.findall(html) if name != "library_file"]
    assert shown == [f.name for f in ON_WEB]
    for f in ON_WEB:
        assert f.web is not None
        assert f.web.label in html, f.name
    not_on_web = [f.name for f in FIELDS if not f.web]
    assert not_on_web and not any(f'name="{name}"' in html for name in not_on_web)


def test_a_new_form_shows_the_schema_defaults(client: TestClient) -> None:
    html = client.get("/").text
    defaults = to_data(from_stored({"email": ""}, "web"))
    assert 'id="timezone" name="timezone" list="zones" autocomplete="off"\n' in html
    assert f'value="{defaults["timezone"]}"' in html
    assert f'name="send_at" value="{defaults["send_at"]}"' in html
    assert f'value="{defaults["max_papers"]}"' in html
    assert f'value="{defaults["frequency"]}" checked' in html
    assert f'<option value="{defaults["weekday"]}" selected>' in html


def test_preferences_show_the_profile_without_the_address_field(
    client: TestClient, mailer: MemoryMailer
) -> None:
    subscribe_and_confirm(client, mailer, frequency="weekly", weekday="friday")
    html, _ = prefs_page(client)
    assert 'id="email"' not in html and "For ada@example.org." in html
    assert 'value="weekly" checked' in html and '<option value="friday" selected>' in html
    shown = [name for name in INPUT.findall(html) if name != "library_file"]
    assert shown == [f.name for f in ON_WEB if f.name != "email"]


def test_empty_inputs_read_as_the_schema_defaults() -> None:
    posted = profile_data(Form({}), "ada@example.org", 30)
    blank = to_data(from_stored({"email": "ada@example.org"}, "web"))
    assert posted.refused == {}
    assert posted.data == {f.name: blank[f.name] for f in ON_WEB}


def test_each_input_is_read_as_its_kind() -> None:
    form = Form({"name": "x" * 300, "topics": " a \n\n b ", "send_at": " 06:15:00 ",
                 "max_papers": " 7 ", "weekday": "friday", "frequency": "weekly"})
    data = profile_data(form, "ada@example.org", 30).data
    assert data["name"] == "x" * 200  # what the input's maxlength lets through
    assert data["topics"] == ["a", "b"] and data["send_at"] == "06:15"
    assert data["max_papers"] == 7 and (data["weekday"], data["frequency"]) == ("friday", "weekly")


@pytest.mark.parametrize("value", ["9" * 5000, "²", "-5", "1e3"])
def test_a_number_that_is_not_a_small_whole_one_is_one_plain_error(
    client: TestClient, mailer: MemoryMailer, value: str
) -> None:
    page = subscribe(client, max_papers=value)
    assert page.status_code == 400 and mailer.outbox == []
    assert '<p class="field-error" id="max_papers-error">Enter a whole number' in page.text


def test_a_refused_form_shows_what_was_typed_and_defaults_for_the_rest() -> None:
    shown = form_values(None, Form({"timezone": "Mars/Base"}))
    assert shown["timezone"] == "Mars/Base" and shown["send_at"] == "07:00"
    assert [f.name for row in shown.rows for f in row] == [f.name for f in ON_WEB]


def test_the_site_limit_on_lines_holds_for_every_list_a_reader_edits(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    subscribe_and_confirm(client, mailer)
    html, token = prefs_page(client)
    many = "\n".join(f"line {i}" for i in range(31))
    for name in [f.name for f in ON_WEB if f.kind == "phrases"]:
        page = client.post("/preferences", data=edited(csrf_of(html), token, **{name: many}))
        assert page.status_code == 400, name
        assert f'id="{name}-error">Give at most 30 lines here (you gave 31).' in page.text
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None and stored.subscriber.topics == ("spiking neural networks",)


def read(body: bytes, content_type: str) -> Form:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):  # as a server hands it over, in pieces
            yield body[start : start + 1000]

    return run_apart(read_form, chunks(), content_type)


def multipart(*parts: tuple[str, bytes], boundary: str = "b0und4ry", end: bool = True) -> bytes:
    """A multipart/form-data body; a part named "x; filename=f" is a file."""
    out = b""
    for head, data in parts:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name={head}\r\n\r\n'.encode()
        out += data + b"\r\n"
    return out + (f"--{boundary}--\r\n".encode() if end else b"")


MULTIPART = "multipart/form-data; boundary=b0und4ry"


def test_a_multipart_form_gives_its_fields_and_its_files() -> None:
    bib = b"@article{a, title={Caf\xc3\xa9 Delays}, eprint={2306.17670}}\n\x00\xff"
    body = multipart(('"topics"', b"vision\r\nspiking networks"),
                     ('"name"', "Zoë".encode()), ('"name"', b"Zo\xe9"),
                     ('"library_file"; filename="My Library.bib"', bib),
                     ('"empty"', b""))
    form = read(body, MULTIPART)
    assert form.fields == {"topics": "vision\r\nspiking networks", "name": "Zo\ufffd", "empty": ""}
    assert form.files == {"library_file": ("My Library.bib", bib)}


@pytest.mark.parametrize(
    ("body", "content_type", "problem", "status"),
    [
        (multipart(('"topics"', b"vision"), end=False), MULTIPART, "not readable multipart", 400),
        (b"topics=vision", MULTIPART, "not readable multipart", 400),
        (multipart(('"topics"', b"vision")), "multipart/form-data", "not readable multipart", 400),
        (multipart(*[(f'"f{i}"', b"x") for i in range(61)]), MULTIPART, "more than 60 fields",
         413),
        (multipart(('"topics"', b"x")).replace(b"; name=", b"; nom="), MULTIPART,
         "not readable multipart", 400),  # RFC 7578: every part has a name
        (multipart(('"topics"', b"x" * 600_000)), MULTIPART, "larger than 512 KB", 413),
        (b"topics=caf\xe9&email=a%40b.org", "application/x-www-form-urlencoded",
         "not UTF-8 text (bad byte at offset 10)", 400),
        (b"&".join(b"f%d=x" % i for i in range(61)), "application/x-www-form-urlencoded",
         "more than 60 fields", 413),
    ],
    ids=["unfinished", "not-multipart", "no-boundary", "too-many-fields", "nameless", "too-large",
         "not-utf8", "too-many-urlencoded"],
)
def test_a_malformed_or_oversized_body_is_refused_in_one_line(
    client: TestClient, body: bytes, content_type: str, problem: str, status: int
) -> None:
    """Too large is 413; a body that is not text (or not multipart) is the client's error, 400."""
    with pytest.raises(FormRefused, match=re.escape(problem)):
        read(body, content_type)
    client.get("/")
    page = client.post("/subscribe", content=body, headers={"Content-Type": content_type})
    assert page.status_code == status and problem in page.text
    assert ("Form too large" in page.text) == (status == 413)


def test_readers_choose_how_much_of_each_abstract_on_both_forms(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    html = client.get("/").text
    assert '<fieldset id="abstracts">\n  <legend>Abstracts</legend>' in html
    assert '<input type="radio" name="abstracts" value="short" checked> Short</label>' in html
    assert 'value="none"> None (titles only)</label>' in html
    subscribe_and_confirm(client, mailer, abstracts="full")
    with engine.connect() as conn:
        assert get_subscriber(conn, "ada@example.org").subscriber.abstracts == "full"  # type: ignore[union-attr]
    html, token = prefs_page(client)
    assert 'name="abstracts" value="full" checked' in html
    refused = client.post("/preferences", data=edited(csrf_of(html), token, abstracts="long"))
    assert refused.status_code == 400
    assert 'id="abstracts-error">Choose one of: short, full, none.' in refused.text
    saved = client.post("/preferences", data=edited(csrf_of(html), token, abstracts="none"))
    assert saved.status_code == 200
    with engine.connect() as conn:
        assert get_subscriber(conn, "ada@example.org").subscriber.abstracts == "none"  # type: ignore[union-attr]


def sections_of(engine: Engine) -> bool:
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None
    return stored.subscriber.sections


def test_readers_turn_sections_by_topic_off_and_on_on_the_preferences_page(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    """A checkbox after a hidden "off" of the same name: unticked posts "off", ticked posts
    "off" then "on" (the last wins), and a form without the field keeps the default (on)."""
    box = '<input type="checkbox" id="sections" name="sections" value="on" checked>'
    assert box in client.get("/").text  # ticked for a new reader
    subscribe_and_confirm(client, mailer)
    assert sections_of(engine) is True
    html, token = prefs_page(client)
    assert '<input type="hidden" name="sections" value="off">' in html and box in html
    assert "Group papers by topic" in html
    client.post("/preferences", data=edited(csrf_of(html), token, sections="off"))
    assert sections_of(engine) is False
    html, token = prefs_page(client)
    assert box not in html and 'name="sections" value="on">' in html
    ticked = edited(csrf_of(html), token) | {"sections": ["off", "on"]}
    assert client.post("/preferences", data=ticked).status_code == 200  # type: ignore[arg-type]
    assert sections_of(engine) is True
