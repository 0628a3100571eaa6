"""Slack incoming webhooks: Block Kit messages (``text`` as the notification fallback).

Limits (Slack's Block Kit reference): 50 blocks a message, 3,000 characters in a section's
text, 150 in a header's; a message's blocks are also kept under 12,000 characters in all, as
Slack refuses some long messages well below its 40,000-character text limit.
mrkdwn escapes ``&``, ``<`` and ``>``; a link is ``<url|label>``.
"""

from __future__ import annotations

from typing import Any

from newsletter.render.channels.digest import Digest, Entry, Unit, pieces, plain_entry
from newsletter.render.channels.rendered import Rendered
from newsletter.wording import clip

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_MESSAGE_TEXT = 12_000
Blocks = list[dict[str, Any]]


def escape(text: str) -> str:
    """Text safe in mrkdwn: the three characters Slack asks to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """``<url|label>``: a URL's own ``|`` and ``>`` percent-encoded, the label escaped."""
    safe = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{safe}|{escape(label)}>"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def entry_blocks(entry: Entry) -> Blocks:
    lines = [f"*{link(entry.url, entry.title)}*"]
    lines += [escape(entry.authors)] if entry.authors else []
    lines += [f"_{escape(entry.why)}_"] if entry.why else []
    head = "\n".join(lines)
    blocks = [_section(piece) for piece in pieces(head, MAX_TEXT)]
    if entry.summary:
        blocks += [_section(p) for p in pieces(escape(entry.summary), MAX_TEXT)]
    if entry.code:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"Code: {link(entry.code, entry.code)}"}]})
    if entry.section:
        blocks.insert(0, {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                                     "text": clip(entry.section, MAX_HEADER)}})
    return [*blocks, {"type": "divider"}]


def _text_size(blocks: Blocks) -> int:
    total = 0
    for block in blocks:
        if "text" in block:
            total += len(block["text"]["text"])
        total += sum(len(e.get("text", "")) for e in block.get("elements", []))
    return total


def _top(heading: str, intro: str) -> Blocks:
    return [{"type": "header", "text": {"type": "plain_text", "emoji": True,
                                        "text": clip(heading, MAX_HEADER)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(intro)}]}]


def render(digest: Digest) -> Rendered:
    units = [Unit(entry_blocks(e), plain_entry(e)) for e in digest.entries]
    room = _top(digest.part_heading(99, 99), digest.intro)

    def fits(groups: list[Blocks]) -> bool:
        blocks = [b for g in groups for b in g]
        return (len(blocks) + len(room) <= MAX_BLOCKS
                and _text_size(blocks) + _text_size(room) <= MAX_MESSAGE_TEXT)

    def body(heading: str, groups: list[Blocks]) -> dict[str, Any]:
        blocks = [b for g in groups for b in g]
        return {"text": heading, "blocks": [*_top(heading, digest.intro), *blocks],
                "unfurl_links": False, "unfurl_media": False}

    return Rendered.packed("slack", digest, units, fits, body)
