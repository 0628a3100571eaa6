"""The generic JSON webhook: one body holding the whole issue as data (a receiver formats it).

The body is signed when it is sent (``delivery/channels/signing.py``); its shape is
documented in docs/channels.md.
"""

from __future__ import annotations

from dataclasses import asdict

from newsletter.render.channels.digest import Digest, Unit, plain_entry
from newsletter.render.channels.rendered import Rendered

VERSION = 1


def render(digest: Digest, day: str = "") -> Rendered:
    body = {"type": "newsletter.issue", "version": VERSION, "channel": digest.name,
            "date": day, "title": digest.heading, "intro": digest.intro,
            "papers": [asdict(e) for e in digest.entries]}
    units = [Unit(e, plain_entry(e)) for e in digest.entries]
    return Rendered.of("webhook", [body], [digest.heading], [units])
