"""One-click feedback: the page a feedback link opens posts the vote by itself (a script), says
so with an undo; a scanner that opens several links of an issue within seconds records nothing,
and the votes scripts recorded during its burst are taken back. Pressing a button always counts.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter import signed_links
from newsletter.delivery.memory import MemoryMailer
from newsletter.store.history import feedback_for

from .conftest import NOW, SECRET, Clock, csrf_of, subscribe_and_confirm

KEYS = ("arxiv:2606.00001", "arxiv:2606.00002", "arxiv:2606.00003")


def link(paper: str, judgment: str) -> str:
    ttl = timedelta(days=30)
    data = {"paper": paper, "j": judgment}
    return signed_links.sign(SECRET, signed_links.FEEDBACK, "ada@example.org", now=NOW, ttl=ttl,
                             data=data)


def votes(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return feedback_for(conn, "ada@example.org")


def scripted(client: TestClient, token: str, judgment: str) -> str:
    """What the page's script does in a browser: open the page, post its form with auto=1."""
    page = client.get("/feedback", params={"token": token})
    assert page.status_code == 200
    assert 'data-auto="1"' in page.text and '<script src="/feedback.js">' in page.text
    form = {"csrf": csrf_of(page.text), "token": token, "j": judgment, "auto": "1"}
    done = client.post("/feedback", data=form)
    assert done.status_code == 200
    return done.text


def test_the_page_records_by_itself_and_offers_an_undo(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    subscribe_and_confirm(client, mailer)
    script = client.get("/feedback.js")
    assert script.status_code == 200 and "vote.submit()" in script.text
    done = scripted(client, link(KEYS[1], "1"), "1")
    assert "Recorded: you will see more papers like" in done
    assert 'name="j" value="0"' in done and ">Undo</button>" in done
    assert votes(engine) == {KEYS[1]: 1}
    undone = client.post(
        "/feedback", data={"csrf": csrf_of(done), "token": link(KEYS[1], "1"), "j": "0"}
    )
    assert undone.status_code == 200 and "Feedback undone" in undone.text
    assert votes(engine) == {}


def test_a_burst_of_opened_links_records_nothing_and_takes_back_script_votes(
    client: TestClient, mailer: MemoryMailer, engine: Engine, clock: Clock
) -> None:
    subscribe_and_confirm(client, mailer)
    clock.now = NOW + timedelta(minutes=5)
    scripted(client, link(KEYS[2], "-1"), "-1")  # the reader's own click, minutes before
    clock.now += timedelta(minutes=5)
    # A scanner that runs scripts: each page opened in turn, a second apart.
    first = scripted(client, link(KEYS[0], "1"), "1")
    assert "Recorded" in first and votes(engine) == {KEYS[2]: -1, KEYS[0]: 1}
    clock.now += timedelta(seconds=1)
    scripted(client, link(KEYS[0], "-1"), "-1")  # both ways for one paper: a machine
    clock.now += timedelta(seconds=1)
    held = scripted(client, link(KEYS[2], "1"), "1")
    assert "Nothing was recorded by itself" in held and 'data-auto="1"' not in held
    assert votes(engine) == {KEYS[2]: -1}  # the burst's votes taken back, the reader's kept
    for url in [f"/feedback?token={link(k, j)}" for k in KEYS for j in ("1", "-1")]:
        for opened in (client.get, client.head):
            assert opened(url).status_code == 200
    assert votes(engine) == {KEYS[2]: -1}
    # A person pressing the button of the held page is heard all the same.
    pressed = {"csrf": csrf_of(held), "token": link(KEYS[1], "1"), "j": "1"}
    assert "Recorded" in client.post("/feedback", data=pressed).text
    assert votes(engine) == {KEYS[2]: -1, KEYS[1]: 1}


def test_links_opened_minutes_apart_are_a_person(
    client: TestClient, mailer: MemoryMailer, engine: Engine, clock: Clock
) -> None:
    subscribe_and_confirm(client, mailer)
    for n, key in enumerate(KEYS):
        clock.now = NOW + timedelta(minutes=2 * n)
        assert "Recorded" in scripted(client, link(key, "1"), "1")
    assert votes(engine) == dict.fromkeys(KEYS, 1)
