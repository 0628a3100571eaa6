"""Microsoft Teams workflow webhooks ("Post to a channel when a webhook request is received"):
a message with one Adaptive Card attachment.

Limit: Teams refuses a message over about 28 KB (its webhook documentation), so each part's
JSON body is kept under 24,000 bytes. TextBlock text is Teams' Markdown subset, its markup
characters escaped by a backslash; each paper's card section opens the paper when clicked.
"""

from __future__ import annotations

import re
from typing import Any

from newsletter.render.channels.digest import Digest, Entry, Unit, pieces, plain_entry
from newsletter.render.channels.rendered import Rendered, dumps

MAX_BYTES = 24_000
PIECE = 6000  # characters of one summary TextBlock
# What Teams' Markdown subset (bold, italic, links, lists) reads as markup; escaping more
# shows stray backslashes on the clients that do not process escapes.
_MARKUP = re.compile(r"([\\*_\[\]])")
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
Element = dict[str, Any]


def escape(text: str) -> str:
    """Teams Markdown with every markup character shown as itself."""
    return _MARKUP.sub(r"\\\1", text)


def _block(text: str, **style: Any) -> Element:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def entry_containers(entry: Entry) -> list[Element]:
    items = [_block(escape(entry.section), weight="Bolder", size="Medium")] if entry.section else []
    items += [_block(escape(entry.title), weight="Bolder", color="Accent")]
    items += [_block(escape(entry.authors), isSubtle=True, spacing="None")] if entry.authors else []
    items += [_block(escape(entry.why), isSubtle=True, spacing="Small")] if entry.why else []
    texts = pieces(escape(entry.summary), PIECE) if entry.summary else []
    items += [_block(texts[0])] if texts else []
    if entry.code:
        items.append(_block(f"[Code]({entry.code.replace(')', '%29')})", spacing="Small"))
    first = {"type": "Container", "separator": True, "items": items,
             "selectAction": {"type": "Action.OpenUrl", "url": entry.url}}
    return [first, *({"type": "Container", "items": [_block(t)]} for t in texts[1:])]


def card(heading: str, intro: str, elements: list[Element]) -> dict[str, Any]:
    """The workflow webhook's body: a message carrying one Adaptive Card."""
    body = [_block(escape(heading), size="Large", weight="Bolder"),
            _block(escape(intro), isSubtle=True, spacing="None"), *elements]
    content = {"$schema": SCHEMA, "type": "AdaptiveCard", "version": "1.4", "body": body,
               "msteams": {"width": "Full"}}
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
         "content": content}]}


def render(digest: Digest) -> Rendered:
    units: list[Unit[Element]] = []
    for entry in digest.entries:
        units += [Unit(c, plain_entry(entry) if i == 0 else "(continued)")
                  for i, c in enumerate(entry_containers(entry))]
    widest = digest.part_heading(99, 99)

    def fits(elements: list[Element]) -> bool:
        return len(dumps(card(widest, digest.intro, elements)).encode()) <= MAX_BYTES

    return Rendered.packed("teams", digest, units, fits,
                           lambda heading, group: card(heading, digest.intro, group))
