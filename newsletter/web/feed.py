"""A reader's private Atom feed (RFC 4287) of their sent issues: one entry per issue, its
papers' titles and links in the entry's content."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from html import escape
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from newsletter.app.archive import PastIssue
from newsletter.models import Paper
from newsletter.web.pages import paper_url

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: str = "", **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text:
        node.text = text
    return node


def _content(issue: PastIssue) -> str:
    """The entry's HTML: the papers in order, linked (under their sections' headings in an
    issue in sections, numbered on), and the web copy."""
    parts, start = [], 1
    for title, papers in issue.sections or (("", issue.papers),):
        if title:
            parts.append(f"<h3>{escape(title)} ({len(papers)})</h3>")
        parts.append(f'<ol start="{start}">{_items(papers)}</ol>' if start > 1
                     else f"<ol>{_items(papers)}</ol>")
        start += len(papers)
    return "".join(parts) + f'<p><a href="{escape(issue.url)}">Read this issue</a></p>'


def _items(papers: Sequence[Paper]) -> str:
    return "".join(
        f'<li><a href="{escape(paper_url(p))}">{escape(p.title)}</a></li>' for p in papers
    )


def atom_feed(
    name: str, base_url: str, reader: str, issues: Sequence[PastIssue], *,
    self_url: str, archive_url: str, now: datetime,
) -> bytes:
    """The feed document of ``reader``'s ``issues`` (newest first) as UTF-8 XML."""
    ET.register_namespace("", ATOM)
    host = urlsplit(base_url).hostname or "localhost"
    # A stable id that does not reveal the address: tag URI (RFC 4151) over its hash.
    who = hashlib.sha256(reader.encode("utf-8")).hexdigest()[:24]
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", f"tag:{host},2026:issues/{who}")
    _add(feed, "title", f"{name}: your issues")
    _add(feed, "updated", _stamp(issues[0].sent_at if issues else now))
    _add(_add(feed, "author"), "name", name)
    _add(feed, "link", rel="self", type=MEDIA_TYPE, href=self_url)
    _add(feed, "link", rel="alternate", type="text/html", href=archive_url)
    for issue in issues:
        entry = _add(feed, "entry")
        _add(entry, "id", f"tag:{host},2026:issues/{who}/{issue.issue_id}")
        _add(entry, "title", issue.subject)
        _add(entry, "updated", _stamp(issue.sent_at))
        _add(entry, "published", _stamp(issue.sent_at))
        _add(entry, "link", rel="alternate", type="text/html", href=issue.url)
        _add(entry, "content", _content(issue), type="html")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
