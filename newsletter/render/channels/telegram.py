"""Telegram bots: ``sendMessage`` with ``parse_mode`` HTML.

Limit: a message's text is 1 to 4,096 characters after its entities are parsed (the Bot API);
the HTML is counted as written, which is never shorter. Telegram's HTML subset is used
(``b``, ``i``, ``a href``), with ``<``, ``>``, ``&`` and quotes in attributes escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from newsletter.render.channels.digest import Digest, Entry, Unit, pack, pieces, plain_entry
from newsletter.render.channels.rendered import Rendered

MAX_TEXT = 4096
PIECE = 3000


def entry_pieces(entry: Entry) -> list[str]:
    lines = [f"<b>{escape(entry.section)}</b>"] if entry.section else []
    lines += [f'<b><a href="{escape(entry.url)}">{escape(entry.title)}</a></b>']
    lines += [escape(entry.authors)] if entry.authors else []
    lines += [f"<i>{escape(entry.why)}</i>"] if entry.why else []
    texts = pieces(entry.summary, PIECE) if entry.summary else []
    lines += [escape(texts[0])] if texts else []
    lines += [f'<a href="{escape(entry.code)}">Code</a>'] if entry.code else []
    return ["\n".join(lines), *(escape(t) for t in texts[1:])]


def text(heading: str, intro: str, group: list[str]) -> str:
    return "\n\n".join([f"<b>{escape(heading)}</b>\n{escape(intro)}", *group])


def render(digest: Digest, chat_id: str = "") -> Rendered:
    units: list[Unit[str]] = []
    for entry in digest.entries:
        units += [Unit(p, plain_entry(entry) if i == 0 else "(continued)")
                  for i, p in enumerate(entry_pieces(entry))]
    widest = digest.part_heading(99, 99)
    parts = pack(units, lambda group: len(text(widest, digest.intro, group)) <= MAX_TEXT)
    parts = parts or [[]]
    headings = [digest.part_heading(i, len(parts)) for i in range(1, len(parts) + 1)]
    bodies: list[dict[str, Any]] = [
        {"chat_id": chat_id, "text": text(h, digest.intro, [u.item for u in group]),
         "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}
        for h, group in zip(headings, parts, strict=True)]
    return Rendered.of("telegram", bodies, headings, parts)
