"""Sign-up with double opt-in: the form, the confirmation email, confirm once, no enumeration."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter.app.accounts import Site
from newsletter.delivery.memory import MemoryMailer
from newsletter.store.outbox import suppress
from newsletter.store.profiles import get_subscriber, set_status
from newsletter.store.signups import pending_signups
from newsletter.web.app import create_app

from .conftest import (
    NOW,
    Clock,
    confirm_link,
    confirm_token,
    csrf_of,
    subscribe,
    subscribe_and_confirm,
    web_config,
)


def test_home_page_is_a_form_with_csrf_and_safe_headers(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'name="email"' in page.text and 'name="topics"' in page.text
    assert '<option value="Europe/Paris">' in page.text
    assert 'name="viewport"' in page.text
    assert csrf_of(page.text) and "nl_csrf" in page.cookies
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    script = client.get("/tz.js")
    assert "resolvedOptions().timeZone" in script.text
    assert script.headers["content-type"].startswith("text/javascript")


def test_subscribe_sends_a_confirmation_and_stores_nothing_active_yet(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    page = subscribe(client)
    assert page.status_code == 200 and "Check your inbox" in page.text
    [email] = mailer.outbox
    assert email.to == "ada@example.org"
    assert "Confirm your subscription" in email.subject
    assert "spiking neural networks" in email.text and confirm_link(mailer)
    with engine.connect() as conn:
        assert get_subscriber(conn, "ada@example.org") is None


def test_the_confirmation_is_a_full_message_listing_what_the_reader_asked_for(
    client: TestClient, mailer: MemoryMailer
) -> None:
    subscribe(
        client,
        topics="spiking neural networks\nneuromorphic <hardware> & co",
        exclude="protein folding",
        authors="Ada Lovelace",
    )
    [sent] = mailer.outbox
    assert sent.raw is not None
    message = message_from_bytes(sent.raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Confirm your subscription to Paper Digest"
    assert message.get_content_type() == "multipart/alternative"
    text_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    link = "http://testserver" + confirm_link(mailer)
    assert link in text and f'href="{link}"' in html
    assert "  - neuromorphic <hardware> & co" in text and "  - protein folding" in text
    for shown in ("spiking neural networks", "neuromorphic &lt;hardware&gt; &amp; co",
                  "protein folding", "Ada Lovelace"):
        assert f'<li dir="auto">{shown}</li>' in html, shown
    assert "Yes, send me Paper Digest" in html and "If you did not sign up, ignore" in html
    assert "within 48 hours" in text


def test_confirm_shows_a_button_then_activates_and_previews(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    subscribe(client)
    page = client.get(confirm_link(mailer))
    assert page.status_code == 200 and "Confirm my subscription" in page.text
    with engine.connect() as conn:
        assert get_subscriber(conn, "ada@example.org") is None  # a GET activates nothing
    done = client.post(
        "/confirm", data={"csrf": csrf_of(page.text), "token": confirm_token(mailer)}
    )
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert "Spiking neural networks on neuromorphic chips" in done.text  # the preview
    assert "protein folding" not in done.text
    assert "/preferences?token=" in done.text
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None and stored.status == "active"
    assert stored.subscriber.timezone == "Europe/Paris"
    assert f"{stored.subscriber.send_at:%H:%M}" == "07:30"
    assert stored.subscriber.origin == "web"


def test_replayed_confirm_changes_nothing(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    assert subscribe_and_confirm(client, mailer).status_code == 200
    with engine.begin() as conn:
        set_status(conn, "ada@example.org", "unsubscribed", NOW)
    page = client.get(confirm_link(mailer))
    assert page.status_code == 410 and "already used" in page.text
    again = client.post(
        "/confirm", data={"csrf": csrf_of(client.get("/").text), "token": confirm_token(mailer)}
    )
    assert again.status_code == 410
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None and stored.status == "unsubscribed"


def test_same_response_whether_or_not_the_address_is_subscribed(
    client: TestClient, mailer: MemoryMailer
) -> None:
    first = subscribe(client, email="new@example.org").text
    subscribe_and_confirm(client, mailer)
    known = subscribe(client, email="ada@example.org").text
    assert known.replace("ada@example.org", "X") == first.replace("new@example.org", "X")


def test_expired_confirm_link_is_refused(
    client: TestClient, mailer: MemoryMailer, clock: Clock, engine: Engine
) -> None:
    subscribe(client)
    clock.now = NOW + timedelta(hours=49)
    page = client.get(confirm_link(mailer))
    assert page.status_code == 400 and "expired" in page.text and "Nothing was changed" in page.text
    with engine.connect() as conn:
        assert get_subscriber(conn, "ada@example.org") is None


def test_a_sign_up_the_settings_no_longer_allow_is_refused_in_one_line(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    subscribe(client)
    with engine.begin() as conn:  # stored under older settings, say, or edited by hand
        [(nonce, profile)] = conn.execute(
            sa.select(pending_signups.c.nonce, pending_signups.c.profile)).all()
        conn.execute(sa.update(pending_signups).where(pending_signups.c.nonce == nonce)
                     .values(profile=dict(profile, timezone="Mars/Olympus_Mons")))
    page = client.get(confirm_link(mailer))
    assert page.status_code == 400 and "sign up again" in page.text
    posted = client.post(
        "/confirm", data={"csrf": csrf_of(client.get("/").text), "token": confirm_token(mailer)}
    )
    assert posted.status_code == 400 and "sign up again" in posted.text
    with engine.connect() as conn:
        assert get_subscriber(conn, "ada@example.org") is None


def test_check_your_inbox_says_how_long_the_link_lasts(
    mailer: MemoryMailer, engine: Engine, clock: Clock, tmp_path: Path
) -> None:
    site = Site(web_config(tmp_path, confirm_hours=0.5), engine, lambda: mailer, clock=clock,
                send_inline=True)
    with TestClient(create_app(site), follow_redirects=False) as short:
        page = subscribe(short)
    assert "within 30 minutes" in page.text
    assert "within 30 minutes" in mailer.outbox[-1].text


def test_forged_and_altered_confirm_links_are_refused(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    subscribe(client)
    token = confirm_token(mailer)
    body, _, mac = token.partition(".")
    altered = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + mac
    for bad in ("", "garbage", "abc.def", altered, token[:-3] + "xyz"):
        page = client.get("/confirm", params={"token": bad})
        assert page.status_code == 400, bad
        assert "This link does not work" in page.text
    with engine.connect() as conn:
        assert get_subscriber(conn, "ada@example.org") is None


def test_invalid_input_redisplays_the_form_with_one_clear_line(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    cases = {
        "email": ("not-an-email", "Enter your email address, like name@example.org."),
        "timezone": ("Mars/Base", "Choose a time zone from the list, like Europe/Paris."),
        "send_at": ("25:00", "Enter a time like 07:30 (24-hour clock)."),
        "topics": ("   ", "Add at least one topic, like &#39;graph neural networks&#39;"),
        "max_papers": ("0", "Enter a whole number from 1 to 100."),
    }
    for field, (value, message) in cases.items():
        page = subscribe(client, **{field: value})
        assert page.status_code == 400, field
        assert f'<p class="field-error" id="{field}-error">{message}' in page.text, field
        assert 'role="alert"' in page.text and "field &#39;" not in page.text
    huge = "\n".join(f"topic {i}" for i in range(31))
    page = subscribe(client, topics=huge)
    assert page.status_code == 400 and "Give at most 30 lines here (you gave 31)." in page.text
    assert mailer.outbox == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(pending_signups)).scalar() == 0


def test_every_problem_is_shown_at_once_beside_its_field(
    client: TestClient, mailer: MemoryMailer
) -> None:
    bad = {
        "email": "ada@example",
        "topics": "",
        "exclude": "x" * 201,
        "timezone": "Mars/Base",
        "send_at": "25:00",
        "max_papers": "0",
        "library": '{"items": [',
        "name": "Ada",
    }
    page = subscribe(client, **bad)
    assert page.status_code == 400 and mailer.outbox == []
    html = page.text
    assert "Please fix 7 things in this form" in html
    fields = ("email", "topics", "library", "exclude", "timezone", "send_at", "max_papers")
    for field in fields:
        assert f'<li><a href="#{field}">' in html, field
        assert f'id="{field}-error"' in html, field
        assert f'aria-invalid="true" aria-describedby="{field}-error"' in html, field
    summary = [html.index(f'href="#{field}"') for field in fields]
    assert summary == sorted(summary)  # in the form's order
    assert "We could not read this list: not valid CSL-JSON" in html
    assert 'value="ada@example"' in html and 'value="Mars/Base"' in html  # kept as typed
    assert f">{'x' * 201}</textarea>" in html and 'value="Ada"' in html
    assert 'aria-describedby="name-error"' not in html  # a good field is left alone


def test_oversized_form_is_refused(client: TestClient, mailer: MemoryMailer) -> None:
    token = csrf_of(client.get("/").text)
    page = client.post(
        "/subscribe", data={"csrf": token, "email": "a@example.org", "topics": "x" * 600_000}
    )
    assert page.status_code == 413 and mailer.outbox == []


def test_forms_without_a_genuine_csrf_token_are_refused(
    client: TestClient, mailer: MemoryMailer
) -> None:
    client.get("/")
    for token in ("", "forged.token"):
        page = client.post(
            "/subscribe", data={"csrf": token, "email": "a@example.org", "topics": "x"}
        )
        assert page.status_code == 403 and "Form expired" in page.text
    token = csrf_of(client.get("/").text)
    client.cookies.clear()  # a post from another site carries no cookie of ours
    page = client.post("/subscribe", data={"csrf": token, "email": "a@example.org", "topics": "x"})
    assert page.status_code == 403 and mailer.outbox == []


def test_a_post_from_another_site_is_refused_even_with_a_token(
    client: TestClient, mailer: MemoryMailer
) -> None:
    token = csrf_of(client.get("/").text)
    form = {"csrf": token, "email": "a@example.org", "topics": "x"}
    page = client.post("/subscribe", data=form, headers={"Origin": "https://evil.example"})
    assert page.status_code == 403 and mailer.outbox == []
    same = client.post("/subscribe", data=form, headers={"Origin": "http://testserver"})
    assert same.status_code == 200 and len(mailer.outbox) == 1


def test_framework_answers_carry_the_security_headers_and_never_redirect(
    client: TestClient,
) -> None:
    for response in (
        client.get("/nowhere"),
        client.put("/subscribe"),
        client.get("/confirm/", headers={"Host": "evil.example"}),
    ):
        assert response.status_code in (404, 405), response.status_code
        assert "location" not in response.headers
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["referrer-policy"] == "no-referrer"


def test_tags_and_comments_do_not_multiply_the_per_address_limit(
    client: TestClient, mailer: MemoryMailer
) -> None:
    for i in range(5):
        assert subscribe(client, email=f"victim+{i}@example.org").status_code == 200
    assert len(mailer.outbox) == 3  # one inbox, three confirmations a day
    page = subscribe(client, email="victim(1)@example.org")
    assert page.status_code == 400 and len(mailer.outbox) == 3


def test_rate_limits_per_client_and_per_address(client: TestClient, mailer: MemoryMailer) -> None:
    for _ in range(4):
        assert subscribe(client, email="victim@example.org").status_code == 200
    assert len(mailer.outbox) == 3  # per address and day: the same page, but no more email
    for i in range(6):
        assert subscribe(client, email=f"other{i}@example.org").status_code == 200
    page = subscribe(client, email="one-more@example.org")
    assert page.status_code == 429 and "Too many sign-ups" in page.text
    assert len(mailer.outbox) == 9


def test_bounced_address_gets_no_confirmation_but_the_same_page(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    with engine.begin() as conn:
        suppress(conn, "gone@example.org", "bounced", now=NOW)
    page = subscribe(client, email="gone@example.org")
    assert page.status_code == 200 and "Check your inbox" in page.text
    assert mailer.outbox == []


def test_a_team_channels_address_cannot_be_signed_up_on_the_web(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    page = subscribe(client, email="lab-slack@channels.invalid")
    assert page.status_code == 200 and "Check your inbox" in page.text  # no enumeration
    assert mailer.outbox == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(pending_signups)).scalar() == 0
