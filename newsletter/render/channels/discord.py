"""Discord webhooks: one embed per paper (execute webhook, ``embeds``).

Limits (Discord's embed limits): 10 embeds a message, 6,000 characters across all embeds'
titles, descriptions, fields, footers and authors, a title 256, a description 4,096, the
message ``content`` 2,000. Text is Discord markdown with its markup characters escaped by a
backslash; no mention in a title can ping anyone (``allowed_mentions`` parses none).
"""

from __future__ import annotations

import re
from typing import Any

from newsletter.render.channels.digest import Digest, Entry, Unit, pieces, plain_entry
from newsletter.render.channels.rendered import Rendered
from newsletter.wording import clip

MAX_EMBEDS = 10
MAX_TOTAL = 6000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_AUTHOR = 256  # an embed author's name: here, the heading of the section it starts
MAX_CONTENT = 2000
COLOR = 0x2B6CB0
_MARKUP = re.compile(r"([\\*_~`|>#\-\[\]()<:])")
Embed = dict[str, Any]


def escape(text: str) -> str:
    """Discord markdown with every markup character shown as itself."""
    return _MARKUP.sub(r"\\\1", text)


def _url(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def entry_embeds(entry: Entry) -> list[Embed]:
    title = escape(entry.title)
    lines = []
    if len(title) > MAX_TITLE:  # shortened in the title, whole in the description
        title = escape(clip(entry.title, MAX_TITLE // 2))
        lines.append(escape(entry.title))
    lines += [escape(entry.authors)] if entry.authors else []
    lines += [f"*{escape(entry.why)}*"] if entry.why else []
    lines += [escape(entry.summary)] if entry.summary else []
    lines += [f"[Code]({_url(entry.code)})"] if entry.code else []
    texts = pieces("\n".join(lines), MAX_DESCRIPTION)
    first: Embed = {"title": title, "url": entry.url, "color": COLOR}
    if texts and texts[0]:
        first["description"] = texts[0]
    if entry.section:
        first["author"] = {"name": clip(entry.section, MAX_AUTHOR)}
    return [first, *({"description": t, "color": COLOR} for t in texts[1:])]


def size(embed: Embed) -> int:
    """The characters an embed counts towards the message's 6,000."""
    return (len(embed.get("title", "")) + len(embed.get("description", ""))
            + len(embed.get("footer", {}).get("text", ""))
            + len(embed.get("author", {}).get("name", ""))
            + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", [])))


def fits(embeds: list[Embed]) -> bool:
    return len(embeds) <= MAX_EMBEDS and sum(size(e) for e in embeds) <= MAX_TOTAL


def render(digest: Digest) -> Rendered:
    units: list[Unit[Embed]] = []
    for entry in digest.entries:
        embeds = entry_embeds(entry)
        units += [Unit(e, plain_entry(entry) if i == 0 else "(continued)")
                  for i, e in enumerate(embeds)]
    def body(heading: str, embeds: list[Embed]) -> dict[str, Any]:
        content = clip(f"**{escape(heading)}**\n{escape(digest.intro)}", MAX_CONTENT)
        return {"content": content, "embeds": embeds, "allowed_mentions": {"parse": []}}

    return Rendered.packed("discord", digest, units, fits, body)
