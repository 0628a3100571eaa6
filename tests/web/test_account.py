"""Preferences, unsubscribe (page + RFC 8058 one-click POST) and feedback links."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter import signed_links
from newsletter.app.accounts import Site
from newsletter.delivery.memory import MemoryMailer
from newsletter.match import fields
from newsletter.models import Subscriber
from newsletter.store.history import feedback_for
from newsletter.store.outbox import suppressed
from newsletter.store.profiles import get_subscriber, upsert_subscriber

from .conftest import NOW, SECRET, Clock, csrf_of, subscribe_and_confirm

BASE = "http://testserver"


def signed(purpose: str, email: str = "ada@example.org", **data: str) -> str:
    ttl = timedelta(days=30)
    return signed_links.sign(SECRET, purpose, email, now=NOW, ttl=ttl, data=data or None)


def status_of(engine: Engine, email: str = "ada@example.org") -> str | None:
    with engine.connect() as conn:
        stored = get_subscriber(conn, email)
    return stored.status if stored else None


def prefs_page(client: TestClient, email: str = "ada@example.org") -> tuple[str, str]:
    url = signed_links.preferences_url(BASE, SECRET, email, now=NOW).removeprefix(BASE)
    page = client.get(url)
    assert page.status_code == 200, page.text
    return page.text, url.split("token=")[1]


def click(client: TestClient, token: str, judgment: str) -> str:
    """What a reader does with a feedback link: open the page, press a button; the page
    that answers."""
    page = client.get("/feedback", params={"token": token})
    form = {"csrf": csrf_of(page.text), "token": token, "j": judgment}
    done = client.post("/feedback", data=form)
    assert done.status_code == 200, done.text
    return done.text


def edited(csrf: str, token: str, **fields: str) -> dict[str, str]:
    base = {
        "csrf": csrf,
        "token": token,
        "topics": "neuromorphic computing\nkeyword spotting",
        "exclude": "surveys",
        "authors": "",
        "timezone": "Asia/Tokyo",
        "send_at": "06:15",
        "frequency": "weekly",
        "weekday": "friday",
        "max_papers": "3",
    }
    return base | fields


def test_preferences_show_and_change_everything_plus_pause(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    subscribe_and_confirm(client, mailer)
    html, token = prefs_page(client)
    assert "spiking neural networks</textarea>" in html
    assert 'value="Europe/Paris"' in html and 'value="07:30"' in html
    saved = client.post("/preferences", data=edited(csrf_of(html), token))
    assert saved.status_code == 200 and "Preferences saved" in saved.text
    # "neuromorphic computing" names a field: the page says which of its papers come too
    terms = fields.terms("neuromorphic computing")
    assert terms and f"<strong>neuromorphic computing</strong>: {terms[0]}" in saved.text
    assert "<strong>keyword spotting</strong>" not in saved.text
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None and stored.status == "active"
    sub = stored.subscriber
    assert sub.topics == ("neuromorphic computing", "keyword spotting")
    assert sub.exclude == ("surveys",) and sub.timezone == "Asia/Tokyo"
    assert sub.send_at == time(6, 15) and sub.frequency == "weekly" and sub.weekday == 4
    assert sub.max_papers == 3
    paused = client.post("/preferences", data=edited(csrf_of(html), token, paused="on"))
    assert "paused" in paused.text and status_of(engine) == "paused"
    html, token = prefs_page(client)
    assert 'name="paused" value="on" checked' in html
    client.post("/preferences", data=edited(csrf_of(html), token))
    assert status_of(engine) == "active"


def test_preferences_take_a_pasted_library_and_show_it_again(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    subscribe_and_confirm(client, mailer)
    html, token = prefs_page(client)
    bib = "@article{a, title={Learning Delays in Spiking Networks}, eprint={2306.17670}}\n"
    pasted = bib + "@article{b, title={A {Paper} Without an Id}}\n"
    data = edited(csrf_of(html), token) | {"library": pasted, "topics": ""}
    assert client.post("/preferences", data=data).status_code == 200
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None
    assert stored.subscriber.topics == ()  # a library alone is a profile
    kept = (
        "arxiv:2306.17670|title:learning delays in spiking networks",
        "title:a paper without an id",
    )
    assert stored.subscriber.library == kept
    html, token = prefs_page(client)
    shown = html.split('name="library">')[1].split("</textarea>")[0]
    again = edited(csrf_of(html), token) | {"library": shown, "topics": ""}
    client.post("/preferences", data=again)
    with engine.connect() as conn:
        assert get_subscriber(conn, "ada@example.org").subscriber.library == kept  # type: ignore[union-attr]


def test_bad_preferences_change_nothing(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    subscribe_and_confirm(client, mailer)
    html, token = prefs_page(client)
    page = client.post("/preferences", data=edited(csrf_of(html), token, timezone="Nowhere/X"))
    assert page.status_code == 400
    assert '<p class="field-error" id="timezone-error">Choose a time zone' in page.text
    assert 'value="Nowhere/X"' in page.text  # kept as typed
    huge = "\n".join(f"t{i}" for i in range(500))
    assert (
        client.post("/preferences", data=edited(csrf_of(html), token, topics=huge)).status_code
        == 400
    )
    forged = client.post("/preferences", data=edited(csrf_of(html), token + "x"))
    assert forged.status_code == 400
    no_csrf = client.post("/preferences", data=edited("", token))
    assert no_csrf.status_code == 403
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None and stored.subscriber.timezone == "Europe/Paris"


def test_preferences_of_unknown_or_file_managed_subscribers(
    client: TestClient, engine: Engine
) -> None:
    url = signed_links.preferences_url(BASE, SECRET, "nobody@example.org", now=NOW)
    assert client.get(url.removeprefix(BASE)).status_code == 404
    sub = Subscriber(email="file@example.org", topics=("x",), origin="/etc/subs/file.toml")
    with engine.begin() as conn:
        upsert_subscriber(conn, sub, NOW)
    html, _ = prefs_page(client, "file@example.org")
    assert "kept by the people who run" in html and "<form" not in html


def test_a_file_managed_reader_sees_and_undoes_their_feedback(
    client: TestClient, engine: Engine
) -> None:
    """The thank-you page after a click links to the preferences page; for a reader whose
    profile the operator keeps, that page lists the feedback with its undo buttons."""
    sub = Subscriber(email="file@example.org", topics=("x",), origin="/etc/subs/file.toml")
    with engine.begin() as conn:
        upsert_subscriber(conn, sub, NOW)
    less = signed(signed_links.FEEDBACK, "file@example.org", paper="arxiv:2606.00001", j="-1")
    click(client, less, "-1")
    html, token = prefs_page(client, "file@example.org")
    assert "kept by the people who run" in html and 'name="topics"' not in html
    assert "Your feedback" in html and "Less like" in html
    undone = client.post(
        "/feedback/undo",
        data={"csrf": csrf_of(html), "token": token, "paper": "arxiv:2606.00001"},
    )
    assert undone.status_code == 200 and "kept by the people who run" in undone.text
    assert "Your feedback" not in undone.text
    with engine.connect() as conn:
        assert feedback_for(conn, "file@example.org") == {}


def test_unsubscribe_get_shows_one_button_and_changes_nothing(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    subscribe_and_confirm(client, mailer)
    url = signed_links.unsubscribe_url(BASE, SECRET, "ada@example.org", now=NOW).removeprefix(BASE)
    page = client.get(url)
    assert page.status_code == 200
    assert page.text.count("<button") == 1 and 'method="post"' in page.text
    assert status_of(engine) == "active"


def test_one_click_post_unsubscribes_at_once_without_cookie_or_redirect(
    client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site
) -> None:
    subscribe_and_confirm(client, mailer)
    url = signed_links.unsubscribe_url(BASE, SECRET, "ada@example.org", now=NOW).removeprefix(BASE)
    client.cookies.clear()
    for _ in range(2):  # unsubscribing twice is fine
        done = client.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200 and "You are unsubscribed" in done.text
        assert "location" not in done.headers
    assert status_of(engine) == "unsubscribed"
    with engine.connect() as conn:
        assert suppressed(conn, ["ada@example.org"]) == {"ada@example.org": "unsubscribed"}
    prefs = signed_links.preferences_url(BASE, SECRET, "ada@example.org", now=NOW)
    prefs = prefs.removeprefix(BASE)
    assert client.get(prefs).status_code == 404  # no way back in but a new sign-up


def test_unsubscribe_with_bad_tokens_changes_nothing(
    client: TestClient, mailer: MemoryMailer, engine: Engine, clock: Clock
) -> None:
    subscribe_and_confirm(client, mailer)
    feedback_token = signed(signed_links.FEEDBACK, paper="arxiv:2606.00001", j="1")
    for bad in ("", "nonsense", signed(signed_links.UNSUBSCRIBE) + "A", feedback_token):
        assert client.post("/unsubscribe", params={"token": bad}).status_code == 400
        assert client.get("/unsubscribe", params={"token": bad}).status_code == 400
    clock.now = NOW + timedelta(days=31)
    expired = client.post("/unsubscribe", params={"token": signed(signed_links.UNSUBSCRIBE)})
    assert expired.status_code == 400 and "expired" in expired.text
    assert status_of(engine) == "active"


def test_feedback_links_record_and_thank(
    client: TestClient, mailer: MemoryMailer, engine: Engine, site: Site
) -> None:
    subscribe_and_confirm(client, mailer)
    liked = signed(signed_links.FEEDBACK, paper="arxiv:2606.00002", j="1")
    for opened in (client.get, client.head):  # what a mail scanner does: nothing recorded
        assert opened("/feedback", params={"token": liked}).status_code == 200
    with engine.connect() as conn:
        assert feedback_for(conn, "ada@example.org") == {}
    page = client.get("/feedback", params={"token": liked})
    assert "keyword spotting" in page.text and 'value="1">More like this' in page.text
    done = client.post("/feedback", data={"csrf": csrf_of(page.text), "token": liked, "j": "1"})
    assert done.status_code == 200 and "more papers like <a href=" in done.text  # the space
    less = signed(signed_links.FEEDBACK, paper="arxiv:2606.00001", j="-1")
    assert "fewer papers like" in click(client, less, "-1")
    with engine.connect() as conn:
        assert feedback_for(conn, "ada@example.org") == {
            "arxiv:2606.00002": 1,
            "arxiv:2606.00001": -1,
        }
    stored = site.stored("ada@example.org")
    assert stored is not None
    reasons = {p.paper.key: p.reasons for p in site.preview(stored.subscriber)}
    assert "arxiv:2606.00001" not in reasons  # less like this: gone from the next issue


def test_feedback_without_a_choice_records_nothing(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    """A hand-made post with no button's value is not a "less like this"."""
    subscribe_and_confirm(client, mailer)
    token = signed(signed_links.FEEDBACK, paper="arxiv:2606.00002", j="1")
    page = client.get("/feedback", params={"token": token})
    for choice in ({}, {"j": "5"}, {"j": "abc"}, {"j": ""}):
        posted = {"csrf": csrf_of(page.text), "token": token} | choice
        refused = client.post("/feedback", data=posted)
        assert refused.status_code == 400 and "Nothing recorded" in refused.text
    with engine.connect() as conn:
        assert feedback_for(conn, "ada@example.org") == {}


def test_forged_feedback_records_nothing(client: TestClient, engine: Engine) -> None:
    token = signed(signed_links.FEEDBACK, paper="arxiv:2606.00002", j="1")
    body, _, mac = token.partition(".")
    other = signed(signed_links.FEEDBACK, paper="arxiv:2606.00003", j="1").partition(".")[0]
    for bad in (f"{other}.{mac}", signed(signed_links.PREFERENCES), body):
        assert client.get("/feedback", params={"token": bad}).status_code == 400
    with engine.connect() as conn:
        count = conn.execute(sa.text("select count(*) from feedback")).scalar()
    assert count == 0


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").text == "ok\n"


def test_feedback_is_seen_and_undone_on_the_preferences_page(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    subscribe_and_confirm(client, mailer)
    liked = signed(signed_links.FEEDBACK, paper="arxiv:2606.00002", j="1")
    click(client, liked, "-1")
    html, token = prefs_page(client)
    assert "Your feedback" in html and "Less like" in html and "Unsubscribe</a>" in html
    undone = client.post(
        "/feedback/undo",
        data={"csrf": csrf_of(html), "token": token, "paper": "arxiv:2606.00002"},
    )
    assert undone.status_code == 200 and "Your feedback" not in undone.text
    with engine.connect() as conn:
        assert feedback_for(conn, "ada@example.org") == {}
    forged = client.post("/feedback/undo", data={"csrf": "x", "token": token, "paper": "k"})
    assert forged.status_code == 403


def test_preferences_take_an_uploaded_bibtex_file(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    subscribe_and_confirm(client, mailer)
    html, token = prefs_page(client)
    bib = (b"@article{a, title={Learning Delays in Spiking Networks}, eprint={2306.17670}}\n"
           b"@article{b, title={Spiking Neural Networks on Chips}}\n")
    data = edited(csrf_of(html), token) | {"topics": "", "library": "2401.00001"}
    upload = {"library_file": ("My Library.bib", bib, "application/x-bibtex")}
    saved = client.post("/preferences", data=data, files=upload)
    assert saved.status_code == 200 and "Preferences saved" in saved.text
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None
    assert stored.subscriber.library == (  # the pasted entry, then the file's (id and title)
        "arxiv:2401.00001", "arxiv:2306.17670|title:learning delays in spiking networks",
        "title:spiking neural networks on chips")


@pytest.mark.parametrize(
    ("name", "body", "problem"),
    [
        ("papers.json", b'{"items": [', "not valid CSL-JSON"),
        ("photo.bib", bytes(range(256)) * 4, "not a text file"),
        ("paper.pdf", b"%PDF-1.4\n1 0 obj\nendobj\n", "a PDF, not a library export"),
        ("empty.bib", b"@article{x, title = }", "no entry with an arXiv id or a title"),
    ],
)
def test_an_unreadable_upload_is_one_plain_error_and_keeps_the_library(
    client: TestClient, mailer: MemoryMailer, engine: Engine, name: str, body: bytes, problem: str
) -> None:
    subscribe_and_confirm(client, mailer)
    html, token = prefs_page(client)
    client.post("/preferences", data=edited(csrf_of(html), token) | {"library": "2401.00001"})
    html, token = prefs_page(client)
    upload = {"library_file": (name, body, "application/octet-stream")}
    data = edited(csrf_of(html), token) | {"library": ""}
    refused = client.post("/preferences", data=data, files=upload)
    assert refused.status_code == 400
    assert f"We could not read &#39;{name}&#39;: {problem}" in refused.text
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None and stored.subscriber.library == ("arxiv:2401.00001",)
