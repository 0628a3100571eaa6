"""What the pages promise is what happens: the first issue's time is when the scheduler's tick
sends it, a reader with only liked papers reads a sentence about them, and the preferences page
shows liked papers by their titles and says how many were recognised."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter import signed_links
from newsletter.delivery.memory import MemoryMailer
from newsletter.store.profiles import get_subscriber

from .conftest import NOW, SECRET, csrf_of, subscribe_and_confirm

BASE = "http://testserver"


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"send_at": "07:30"}, "within 5 minutes."),  # 11:00 in Paris: due at once
        ({"send_at": "23:00"}, "today within 5 minutes after 23:00 (Europe/Paris)."),
        ({"frequency": "weekly", "weekday": "tuesday", "timezone": "Asia/Tokyo"},
         "tomorrow, Tuesday 2 June, within 5 minutes after 07:30 (Asia/Tokyo)."),
        ({"frequency": "weekly", "weekday": "friday"},
         "on Friday 5 June, within 5 minutes after 07:30 (Europe/Paris)."),
    ],
)
def test_the_first_issue_is_promised_when_the_tick_sends_it(
    client: TestClient, mailer: MemoryMailer, fields: dict[str, str], said: str
) -> None:
    done = subscribe_and_confirm(client, mailer, **fields)
    sentence = " ".join(re.search(r"Your first issue goes to ada@example.org (.+?)</p>",
                                  done.text, re.S).group(1).split())  # type: ignore[union-attr]
    assert sentence.startswith(said), sentence


def test_the_confirm_page_says_what_a_library_only_profile_gets(
    client: TestClient, mailer: MemoryMailer
) -> None:
    from .conftest import confirm_link, subscribe

    subscribe(client, topics="", library="2606.00001\n2606.00002")
    page = client.get(confirm_link(mailer)).text
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert ("will receive Paper Digest daily at 07:30 (Europe/Paris), with papers close to the "
            "2 papers you liked.") in text
    assert "about:" not in text


def prefs(client: TestClient) -> tuple[str, str]:
    url = signed_links.preferences_url(BASE, SECRET, "ada@example.org", now=NOW)
    page = client.get(url.removeprefix(BASE))
    return page.text, url.split("token=")[1]


def test_preferences_show_liked_papers_by_title_and_how_many_are_recognised(
    client: TestClient, mailer: MemoryMailer, engine: Engine
) -> None:
    pasted = "2606.00002\nA paper nobody stored yet\nSpiking neural networks on neuromorphic chips"
    subscribe_and_confirm(client, mailer, library=pasted)
    html, token = prefs(client)
    lines = [
        "Energy-efficient spiking neural networks for keyword spotting (arXiv:2606.00002)",
        "a paper nobody stored yet",
        "Spiking neural networks on neuromorphic chips (arXiv:2606.00001)",
    ]
    assert shown(html) == lines
    assert "title:" not in shown(html) and "arxiv:" not in html.split('name="library">')[1][:400]
    assert "2 of 3 liked papers recognised." in html
    form = {"csrf": csrf_of(html), "token": token, "topics": "", "library": "\n".join(lines),
            "timezone": "Europe/Paris", "send_at": "07:30", "frequency": "daily",
            "weekday": "monday", "max_papers": "5"}
    saved = client.post("/preferences", data=form)
    text = " ".join(re.sub(r"<[^>]+>", " ", saved.text).split())
    assert "gets papers close to the 3 papers you liked, daily at 07:30 (Europe/Paris)" in text
    assert "2 of 3 liked papers recognised." in text
    assert shown(prefs(client)[0]) == lines  # saved as shown: the same papers
    with engine.connect() as conn:
        stored = get_subscriber(conn, "ada@example.org")
    assert stored is not None and len(stored.subscriber.library) == 3


def shown(html: str) -> list[str]:
    return html.split('name="library">')[1].split("</textarea>")[0].splitlines()
