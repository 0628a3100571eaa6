"""Loopback fakes of the six channel platforms, each checking a request against what the
platform documents (shape and limits) before it answers as the platform would.

A request that breaks a documented rule is answered 400 and recorded as a violation; the
fake's ``with`` block fails the test on any. Each fake keeps the posts it accepted in order
(``posts``) and, as plain text, what a reader sees (``seen``), so a test can count repeats.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from newsletter.delivery.channels.signing import verify
from tests.delivery.http_fake import FakeApi, Reply, Request

SLACK_BLOCKS = {"header", "section", "divider", "context"}
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                 "tg-spoiler", "blockquote", "span"}
MATRIX_TAGS = {"font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul",
               "ol", "sup", "sub", "li", "b", "i", "u", "strong", "em", "strike", "code", "hr",
               "br", "div", "table", "thead", "tbody", "tr", "th", "td", "caption", "pre",
               "span", "img", "details", "summary"}
VOID = {"br", "hr", "img"}
SLACK_LINK = re.compile(r"<([^|<>]+)\|([^<>]*)>")
ENTITY = re.compile(r"&(amp|lt|gt);")
TOKEN = "matrix-access-token"
BOT = "123456:telegram-bot-token"
SECRET = "webhook-signing-secret"


class Markup(HTMLParser):
    """Checks that HTML uses only ``allowed`` tags, closes them in order, and collects text."""

    def __init__(self, allowed: set[str], attrs: dict[str, set[str]]) -> None:
        super().__init__(convert_charrefs=True)
        self.allowed, self.attrs = allowed, attrs
        self.stack: list[str] = []
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in self.allowed, f"tag <{tag}> is not allowed"
        for name, value in attrs:
            assert name in self.attrs.get(tag, set()), f"attribute {name} on <{tag}>"
            if name == "href":
                assert value and value.startswith(("http://", "https://")), value
                self.links.append(value)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def check(self, html: str) -> str:
        self.feed(html)
        self.close()
        assert not self.stack, f"unclosed {self.stack}"
        return "".join(self.text)


@dataclass
class Platform:
    """One fake platform: its server, its accepted posts, what readers see."""

    kind: str
    check: Callable[[Platform, Request], Reply]
    posts: list[Any] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # txn ids / idempotency keys, as received
    faults: list[Reply] = field(default_factory=list)  # answered first, one per request
    hang: float = 0.0  # seconds to wait after accepting a post, before answering
    api: FakeApi | None = None
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def respond(self, request: Request) -> Reply:
        if self.faults:
            return self.faults.pop(0)
        reply = self.check(self, request)
        time.sleep(self.hang)
        return reply

    @property
    def url(self) -> str:
        assert self.api is not None
        return self.api.url


def slack(p: Platform, r: Request) -> Reply:
    assert r.method == "POST" and r.path.startswith("/services/T0/B0/slack-secret")
    body = r.json()
    assert isinstance(body["text"], str) and body["text"], "text is the notification fallback"
    blocks = body["blocks"]
    assert 1 <= len(blocks) <= 50, f"{len(blocks)} blocks (at most 50)"
    texts = []
    for block in blocks:
        assert block["type"] in SLACK_BLOCKS, block["type"]
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
            texts.append(block["text"]["text"])
        if block["type"] == "section":
            assert block["text"]["type"] == "mrkdwn"
            assert len(block["text"]["text"]) <= 3000, "section text over 3,000 characters"
            texts.append(_mrkdwn(block["text"]["text"]))
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            texts += [_mrkdwn(e["text"]) for e in block["elements"]]
    p.posts.append(body)
    p.seen.append("\n".join(texts))
    return Reply(200, "ok")


def _mrkdwn(text: str) -> str:
    """The text a Slack reader sees; the escaping rules checked on the way."""
    def label(match: re.Match[str]) -> str:
        assert match.group(1).startswith(("http://", "https://")), match.group(1)
        return match.group(2)

    bare = SLACK_LINK.sub(label, text)
    assert "<" not in bare and ">" not in bare, f"unescaped < or > in {text[:80]!r}"
    assert not re.search(r"&(?!amp;|lt;|gt;)", bare), f"unescaped & in {text[:80]!r}"
    return ENTITY.sub(lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)], bare)


def discord(p: Platform, r: Request) -> Reply:
    assert r.method == "POST" and r.path == "/api/webhooks/1/discord-secret?wait=true"
    body = r.json()
    embeds = body.get("embeds", [])
    assert body.get("content") or embeds
    assert len(body.get("content", "")) <= 2000
    assert len(embeds) <= 10, f"{len(embeds)} embeds (at most 10)"
    total = 0
    for e in embeds:
        assert len(e.get("title", "")) <= 256 and len(e.get("description", "")) <= 4096
        total += len(e.get("title", "")) + len(e.get("description", ""))
        total += len(e.get("footer", {}).get("text", "")) + len(e.get("author", {}).get("name", ""))
        total += sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
    assert total <= 6000, f"{total} characters in embeds (at most 6,000)"
    assert body.get("allowed_mentions") == {"parse": []}
    p.posts.append(body)
    p.seen.append("\n".join(_unmark(text) for text in [body.get("content", ""), *(
        "\n".join(filter(None, [e.get("author", {}).get("name", ""), e.get("title", ""),
                                e.get("description", "")])) for e in embeds)]))
    return Reply(200, {"id": str(next(p.ids)), "channel_id": "1"})


def _unmark(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def teams(p: Platform, r: Request) -> Reply:
    assert r.method == "POST" and r.path.startswith("/workflows/teams-secret")
    assert len(r.body) <= 28 * 1024, f"{len(r.body)} bytes (Teams refuses over ~28 KB)"
    body = r.json()
    assert body["type"] == "message" and len(body["attachments"]) == 1
    attachment = body["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] in ("1.2", "1.3", "1.4", "1.5")
    texts: list[str] = []

    def walk(elements: list[dict[str, Any]]) -> None:
        for element in elements:
            assert element["type"] in ("TextBlock", "Container"), element["type"]
            if element["type"] == "TextBlock":
                assert isinstance(element["text"], str)
                texts.append(_unmark(element["text"]))
            else:
                action = element.get("selectAction")
                if action:
                    assert action["type"] == "Action.OpenUrl"
                    assert action["url"].startswith(("http://", "https://"))
                walk(element["items"])

    walk(card["body"])
    p.posts.append(body)
    p.seen.append("\n".join(texts))
    return Reply(202)


MATRIX_PATH = re.compile(r"^/_matrix/client/v3/rooms/([^/]+)/send/m\.room\.message/([^/]+)$")


def matrix(p: Platform, r: Request) -> Reply:
    assert r.method == "PUT", "m.room.message is sent with PUT and a transaction id"
    found = MATRIX_PATH.match(r.path)
    assert found and re.fullmatch(r"%21room\w*%3Aexample\.org", found.group(1)), r.path
    assert r.headers.get("authorization") == f"Bearer {TOKEN}"
    assert len(r.body) <= 65536
    txn = found.group(2)
    p.keys.append(txn)
    if txn in p.keys[:-1]:  # the spec: the same transaction id is the same event
        return Reply(200, {"event_id": f"$event-{txn}"})
    body = r.json()
    assert body["msgtype"] in ("m.text", "m.notice") and isinstance(body["body"], str)
    assert body["format"] == "org.matrix.custom.html"
    text = Markup(MATRIX_TAGS, {"a": {"href"}}).check(body["formatted_body"])
    p.posts.append(body)
    p.seen.append(text)
    return Reply(200, {"event_id": f"$event-{txn}"})


def telegram(p: Platform, r: Request) -> Reply:
    assert r.method == "POST" and r.path == f"/bot{BOT}/sendMessage"
    body = r.json()
    assert body["chat_id"] == "-1001234" and body["parse_mode"] == "HTML"
    text = Markup(TELEGRAM_TAGS, {"a": {"href"}}).check(body["text"])
    assert 1 <= len(text) <= 4096, f"{len(text)} characters after entities (1-4,096)"
    p.posts.append(body)
    p.seen.append(text)
    return Reply(200, {"ok": True, "result": {"message_id": next(p.ids)}})


def webhook(p: Platform, r: Request) -> Reply:
    assert r.method == "POST" and r.path == "/hooks/newsletter"
    assert verify(SECRET, r.headers, r.body, time.time()), "the HMAC does not verify"
    key = r.headers.get("idempotency-key", "")
    assert key
    p.keys.append(key)
    if key in p.keys[:-1]:
        return Reply(200, {"duplicate": True})
    body = r.json()
    assert body["type"] == "newsletter.issue" and body["version"] == 1
    p.posts.append(body)
    p.seen.append("\n".join([body["title"], *(
        "\n".join(filter(None, [x["section"], x["title"], x["why"], x["summary"]]))
        for x in body["papers"])]))
    return Reply(200, {"received": True})


CHECKS = {"slack": slack, "discord": discord, "teams": teams, "matrix": matrix,
          "telegram": telegram, "webhook": webhook}


@contextmanager
def platforms() -> Iterator[dict[str, Platform]]:
    """The six fakes, serving on loopback for the ``with`` block."""
    with ExitStack() as stack:
        found = {}
        for kind, check in CHECKS.items():
            platform = Platform(kind, check)
            platform.api = stack.enter_context(FakeApi(platform.respond))
            found[kind] = platform
        yield found


def channel_config(found: dict[str, Platform]) -> tuple[dict[str, Any], dict[str, str]]:
    """``[channels.*]`` for the six fakes, and the environment holding their secrets."""
    tables: dict[str, Any] = {
        "lab-slack": {"kind": "slack", "url_env": "LAB_SLACK_URL"},
        "lab-discord": {"kind": "discord", "url_env": "LAB_DISCORD_URL"},
        "lab-teams": {"kind": "teams", "url_env": "LAB_TEAMS_URL"},
        "lab-matrix": {"kind": "matrix", "homeserver": found["matrix"].url,
                       "room": "!room:example.org", "token_env": "LAB_MATRIX_TOKEN"},
        "lab-telegram": {"kind": "telegram", "chat_id": "-1001234",
                         "token_env": "LAB_TELEGRAM_TOKEN", "api_base": found["telegram"].url},
        "lab-webhook": {"kind": "webhook", "url_env": "LAB_HOOK_URL",
                        "secret_env": "LAB_HOOK_SECRET"},
    }
    env = {
        "LAB_SLACK_URL": f"{found['slack'].url}/services/T0/B0/slack-secret",
        "LAB_DISCORD_URL": f"{found['discord'].url}/api/webhooks/1/discord-secret",
        "LAB_TEAMS_URL": f"{found['teams'].url}/workflows/teams-secret?sig=abc",
        "LAB_MATRIX_TOKEN": TOKEN,
        "LAB_TELEGRAM_TOKEN": BOT,
        "LAB_HOOK_URL": f"{found['webhook'].url}/hooks/newsletter",
        "LAB_HOOK_SECRET": SECRET,
    }
    for table in tables.values():
        table["part_gap"] = 0  # the fakes take parts as fast as they come
    return tables, env


def toml(tables: dict[str, Any]) -> str:
    """``[channels.NAME]`` tables as TOML text."""
    out = []
    for name, table in tables.items():
        out.append(f"[channels.{name}]")
        out += [f"{k} = {json.dumps(v)}" for k, v in table.items()]
        out.append("")
    return "\n".join(out)
