"""Matrix rooms: ``m.room.message`` events of msgtype ``m.notice`` (what bots send), with a
plain ``body`` and an ``org.matrix.custom.html`` ``formatted_body``.

Limit: an event may be at most 65,536 bytes with its envelope (the client-server spec), so
each part's content is kept under 32,000 bytes of JSON. HTML text and attributes are escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from newsletter.render.channels.digest import Digest, Entry, Unit, pieces, plain_entry
from newsletter.render.channels.rendered import Rendered, dumps

MAX_BYTES = 32_000
PIECE = 8000
Piece = tuple[str, str]  # (html, plain)


def entry_pieces(entry: Entry) -> list[Piece]:
    html = [f"<h4>{escape(entry.section)}</h4>"] if entry.section else []
    html += [f'<p><strong><a href="{escape(entry.url)}">{escape(entry.title)}</a></strong>']
    html += [f"<br>{escape(entry.authors)}"] if entry.authors else []
    html += [f"<br><em>{escape(entry.why)}</em>"] if entry.why else []
    texts = pieces(entry.summary, PIECE) if entry.summary else []
    html += [f"<br>{escape(texts[0])}"] if texts else []
    html += [f'<br><a href="{escape(entry.code)}">Code</a>'] if entry.code else []
    first = ("".join(html) + "</p>", plain_entry(entry))
    return [first, *((f"<p>{escape(t)}</p>", t) for t in texts[1:])]


def content(heading: str, intro: str, group: list[Piece]) -> dict[str, Any]:
    html = f"<h3>{escape(heading)}</h3><p>{escape(intro)}</p>" + "".join(h for h, _ in group)
    body = "\n\n".join([heading, intro, *(p for _, p in group)])
    return {"msgtype": "m.notice", "body": body, "format": "org.matrix.custom.html",
            "formatted_body": html}


def render(digest: Digest) -> Rendered:
    units = [Unit(p, p[1]) for e in digest.entries for p in entry_pieces(e)]
    widest = digest.part_heading(99, 99)

    def fits(group: list[Piece]) -> bool:
        return len(dumps(content(widest, digest.intro, group)).encode()) <= MAX_BYTES

    return Rendered.packed("matrix", digest, units, fits,
                           lambda heading, group: content(heading, digest.intro, group))
