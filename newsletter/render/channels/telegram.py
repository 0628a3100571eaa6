"""Telegram bots: ``sendMessage`` with ``parse_mode`` HTML.

Limit: a message's text is 1 to 4,096 characters after its entities are parsed (the Bot API);
the HTML is counted as written, which is never shorter. Telegram's HTML subset is used
(``b``, ``i``, ``a href``), with ``<``, ``>``, ``&`` and quotes in attributes escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from newsletter.render.channels.digest import Digest, Entry, Unit, pieces, plain_entry
from newsletter.render.channels.rendered import Rendered

MAX_TEXT = 4096


def wrapped(text: str, wrap: Callable[[str], str], room: int) -> list[str]:
    """``text`` escaped and put in ``wrap`` (its tags), cut into as many pieces as keep each
    within ``room`` characters of HTML; each piece is escaped and wrapped on its own, so no
    tag or entity is cut in half and nothing is dropped."""
    out: list[str] = []
    todo = pieces(text, max(1, room - len(wrap(""))))
    while todo:
        piece = todo.pop(0)
        html = wrap(escape(piece))
        if len(html) > room and len(piece) > 1:  # escaping made it longer: cut it smaller
            todo[:0] = pieces(piece, len(piece) // 2)
        else:
            out.append(html)
    return out


def entry_pieces(entry: Entry, room: int) -> list[str]:
    """One paper as Telegram HTML, in pieces of at most ``room`` characters (a very long
    title, "why" line or summary becomes several), lines that fit together joined."""
    link = escape(entry.url)
    lines = wrapped(entry.section, lambda t: f"<b>{t}</b>", room) if entry.section else []
    lines += wrapped(entry.title, lambda t: f'<b><a href="{link}">{t}</a></b>', room)
    lines += wrapped(entry.authors, lambda t: t, room) if entry.authors else []
    lines += wrapped(entry.why, lambda t: f"<i>{t}</i>", room) if entry.why else []
    lines += wrapped(entry.summary, lambda t: t, room) if entry.summary else []
    lines += [f'<a href="{escape(entry.code)}">Code</a>'] if entry.code else []
    out: list[str] = []
    for line in lines:
        if out and len(out[-1]) + 1 + len(line) <= room:
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


def text(heading: str, intro: str, group: list[str]) -> str:
    return "\n\n".join([f"<b>{escape(heading)}</b>\n{escape(intro)}", *group])


def render(digest: Digest, chat_id: str = "") -> Rendered:
    widest = digest.part_heading(99, 99)
    room = MAX_TEXT - len(text(widest, digest.intro, [""]))  # what a part leaves an entry
    units: list[Unit[str]] = []
    for entry in digest.entries:
        units += [Unit(p, plain_entry(entry) if i == 0 else "(continued)")
                  for i, p in enumerate(entry_pieces(entry, room))]
    def body(heading: str, pieces: list[str]) -> dict[str, Any]:
        return {"chat_id": chat_id, "text": text(heading, digest.intro, pieces),
                "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}

    return Rendered.packed("telegram", digest, units,
                           lambda group: len(text(widest, digest.intro, group)) <= MAX_TEXT, body)
