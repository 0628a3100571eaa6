"""Each platform's payload of a long, hostile issue: split into ordered parts that each pass
the platform's documented limits (the same checks as the loopback fakes), escaped for its
markup, and nothing cut: every title and every word of a very long abstract arrives."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from newsletter.config import ChannelSettings, Secrets
from newsletter.delivery.base import MailerEnv
from newsletter.delivery.channels.sender import ChannelMailer, part_key
from newsletter.delivery.channels.targets import target
from newsletter.models import Issue, OutgoingEmail, Paper, Pick, Subscriber
from newsletter.render.channels import render_channel
from tests.channels.fakes import BOT, CHECKS, SECRET, TOKEN, Platform
from tests.delivery.http_fake import FakeApi, Request

HOSTILE = "<script>alert(1)</script> & *bold* _it_ ~x~ `c` | > # [a](b) @everyone \\"
LONG = " ".join(f"w{i}" for i in range(3000))  # a 17,000-character abstract, kept whole
SETTINGS = {
    "slack": ChannelSettings("slack", url_env="U"),
    "discord": ChannelSettings("discord", url_env="U"),
    "teams": ChannelSettings("teams", url_env="U"),
    "matrix": ChannelSettings("matrix", homeserver="http://h", room="!room:example.org",
                              token_env="T"),
    "telegram": ChannelSettings("telegram", chat_id="-1001234", token_env="T",
                                api_base="http://h"),
    "webhook": ChannelSettings("webhook", url_env="U", secret_env="S"),
}
URLS = {"slack": "http://h/services/T0/B0/slack-secret",
        "discord": "http://h/api/webhooks/1/discord-secret",
        "teams": "http://h/workflows/teams-secret", "webhook": "http://h/hooks/newsletter"}


def issue(papers: int) -> Issue:
    sub = Subscriber(email="lab@channels.invalid", topics=("robotics",), name=f"Lab {HOSTILE}",
                     abstracts="full")
    picks = tuple(
        Pick(Paper(title=f"Paper {i}: {HOSTILE}", abstract=LONG if i == 3 else f"About {i}.",
                   arxiv_id=f"2501.{10000 + i}", authors=("Ada <a@b>", "Lin & Co")),
             0.5, (f"title matches '{HOSTILE}'",))
        for i in range(papers))
    return Issue(sub, date(2026, 6, 1), picks)


def delivered(kind: str, papers: int | Issue) -> Platform:
    """The issue (or ``issue(papers)``) rendered and each part put through the platform's
    fake, as sent."""
    made_issue = papers if isinstance(papers, Issue) else issue(papers)
    rendered = render_channel(kind, made_issue, 400, "-1001234")
    fake = Platform(kind, CHECKS[kind])
    secrets = Secrets({"U": URLS.get(kind, ""), "T": TOKEN if kind == "matrix" else BOT,
                       "S": SECRET}, ("U", "T", "S"))
    for number, body in enumerate(rendered.encoded(), 1):
        made = target(SETTINGS[kind], secrets, body, part_key("<m@x>", number), int(time.time()))
        path = made.url.removeprefix("http://h")
        headers = {k.lower(): v for k, v in made.headers.items()}
        reply = fake.respond(Request(made.method, path, headers, made.body))
        assert reply.status < 300
    return fake


@pytest.mark.parametrize("kind", list(CHECKS))
def test_a_long_hostile_issue_is_split_in_order_within_the_limits_and_nothing_is_cut(
        kind: str) -> None:
    fake = delivered(kind, 60)
    if kind != "webhook":
        assert len(fake.posts) > 1, "60 papers and a 17,000-character abstract need parts"
    seen = "\n".join(fake.seen)
    at = [seen.index(f"Paper {i}: {HOSTILE}") for i in range(60)]
    assert at == sorted(at), "papers out of order"
    words = [seen.index(f" w{i} ", at[3]) for i in range(1, 2999, 97)]
    assert words == sorted(words) and all(w > 0 for w in words), "the abstract was cut"


def team_issue() -> Issue:
    """A team channel of two topics: two papers under each, one of them for both members."""
    sub = Subscriber(email="lab@channels.invalid", topics=("robotics", "ecology"), name="Lab")
    rows = [("robotics", ("Ada",)), ("ecology", ("Lin",)), ("robotics", ("Ada", "Lin")),
            ("ecology", ("Lin",))]
    picks = tuple(Pick(Paper(title=f"Paper {i} on {topic}", abstract="About it.",
                             arxiv_id=f"2501.{20000 + i}"), 0.9 - i / 10,
                       (f"title matches '{topic}'",), via="topic", topic=topic, members=members)
                  for i, (topic, members) in enumerate(rows))
    return Issue(sub, date(2026, 6, 1), picks)


@pytest.mark.parametrize("kind", list(CHECKS))
def test_a_team_channel_reads_in_sections_and_says_whom_each_paper_is_for(kind: str) -> None:
    seen = "\n".join(delivered(kind, team_issue()).seen)
    order = [seen.index(s) for s in ("robotics (2)", "Paper 0 on robotics", "Paper 2 on robotics",
                                      "ecology (2)", "Paper 1 on ecology", "Paper 3 on ecology")]
    assert order == sorted(order), "papers not grouped under their topics, in the reader's order"
    assert "For Ada, Lin" in seen and "For Lin" in seen


@pytest.mark.parametrize("kind", ["slack", "discord", "teams", "matrix", "telegram"])
def test_a_short_issue_is_one_message(kind: str) -> None:
    assert len(delivered(kind, 2).posts) == 1


def test_discord_lets_no_mention_ping_and_shows_markup_as_text() -> None:
    fake = delivered("discord", 2)
    body = fake.posts[0]
    assert body["allowed_mentions"] == {"parse": []}
    assert "\\*bold\\*" in body["embeds"][0]["title"]


def test_slack_escapes_the_three_characters_and_links_survive() -> None:
    fake = delivered("slack", 1)
    text = fake.posts[0]["blocks"][2]["text"]["text"]
    assert text.startswith("*<https://arxiv.org/abs/2501.10000|Paper 0: &lt;script&gt;")
    assert "Ada &lt;a@b&gt;, Lin &amp; Co" in text


def test_the_parts_of_one_issue_keep_the_platforms_pace() -> None:
    naps: list[float] = []
    fake = Platform("slack", CHECKS["slack"])
    with FakeApi(fake.respond) as api:
        secrets = Secrets({"U": f"{api.url}/services/T0/B0/slack-secret"}, ("U",))
        mailer = ChannelMailer({"lab": SETTINGS["slack"]}, MailerEnv(secrets, Path(".")),
                               sleep=naps.append)
        rendered = render_channel("slack", issue(60), 400)
        email = OutgoingEmail("<m@x>", "d@x.org", "lab@channels.invalid", "", "", "",
                              parts=rendered.encoded())
        [result] = mailer.send_messages([email])
        mailer.close()
    assert result.status == "sent", result.detail
    assert len(fake.posts) == len(rendered.parts) > 1
    assert naps == [1.0] * (len(rendered.parts) - 1)  # Slack: about one message a second
    assert [p["text"] for p in fake.posts] == [p["text"] for p in rendered.parts]


def test_a_telegram_entry_with_a_huge_title_and_why_line_is_split_within_the_limit() -> None:
    """A 6,000-character title and a 5,000-character "why" line (a long list of members):
    every part within Telegram's 4,096 characters and valid HTML (the fake checks both), and
    every word of both arrives, in order."""
    title = " ".join(f"t{i}<&>" for i in range(1000))[:6000]
    members = tuple(f"Member{i}<&>" for i in range(400))
    why = "For " + ", ".join(members)
    assert len(title) == 6000 and len(why) > 5000
    sub = Subscriber(email="lab@channels.invalid", topics=("robotics",), name="Lab")
    paper = Paper(title=title, abstract="About it.", arxiv_id="2501.40000")
    picks = (Pick(paper, 0.9, (), via="topic", topic="robotics", members=members),
             Pick(Paper(title="A short one", abstract="Short.", arxiv_id="2501.40001"), 0.8,
                  ("title matches 'robotics'",)))
    fake = delivered("telegram", Issue(sub, date(2026, 6, 1), picks))
    assert len(fake.posts) > 2
    seen = "\n".join(fake.seen)
    words = [f"t{i}<&>" for i in range(0, 700, 37)] + [f"Member{i}<&>" for i in range(400)]
    at = [seen.index(w) for w in words[:19]]
    assert at == sorted(at), "title out of order"
    missing = [w for w in words if w not in seen]
    assert not missing and "About it." in seen and "A short one" in seen, missing[:5]
