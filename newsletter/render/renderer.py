"""The ``Renderer``: templates loaded and compiled once, then one cheap Jinja pass per issue."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from newsletter.config import EmailSettings, NewsletterSettings
from newsletter.models import Issue, IssueLinks
from newsletter.render.context import build_context
from newsletter.render.templates import Templates
from newsletter.render.text import one_line

HTML_TEMPLATE = "email.mjml"
TEXT_TEMPLATE = "email.txt"
SUBJECT_TEMPLATE = "subject.txt"
CONFIG_SUBJECT = "<config email.subject>"


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """An email's parts (an issue, or a sign-up confirmation), ready to be put into MIME."""

    subject: str
    preheader: str
    html: str
    text: str


class Renderer:
    """Render issues with the layered templates: ``user_dir``, then the package defaults."""

    def __init__(
        self,
        newsletter: NewsletterSettings,
        email: EmailSettings,
        user_dir: Path | None = None,
        files: dict[str, str] | None = None,
    ) -> None:
        """Templates from ``user_dir`` over the defaults, or exactly ``files`` when given."""
        self.newsletter = newsletter
        self.email = email
        self.templates = Templates(user_dir, files)
        self.dirs = self.templates.dirs
        self.version = ""
        self.reload()

    @classmethod
    def pinned(cls, files: dict[str, str], settings: dict[str, Any]) -> Renderer:
        """The renderer of a pinned version: the ``files`` and ``settings`` of ``pin()``."""
        newsletter = NewsletterSettings(**settings["newsletter"])
        return cls(newsletter, EmailSettings(**settings["email"]), files=files)

    def pin(self) -> tuple[str, dict[str, str], dict[str, Any]]:
        """(version hash, template sources, render settings): everything that decides the
        output besides the issue, to render it again later exactly the same way."""
        files = self._files
        n = self.newsletter
        settings = {
            "newsletter": {"name": n.name, "base_url": n.base_url,
                           "postal_address": n.postal_address},
            "email": asdict(self.email),
        }
        blob = json.dumps([files, settings], sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:32], files, settings

    def reload(self) -> bool:
        """Read the templates again; recompiles MJML only when a source changed. True if so."""
        t, subject = self.templates, self.email.subject
        t.reload()
        self._files = t.sources()
        self._html = t.mjml(HTML_TEMPLATE)
        self._text = t.text(TEXT_TEMPLATE)
        self._subject = (t.string(subject, CONFIG_SUBJECT, "config key 'email.subject'")
                         if subject else t.text(SUBJECT_TEMPLATE))
        text_source = t.source(TEXT_TEMPLATE)[0] + (subject or t.source(SUBJECT_TEMPLATE)[0])
        key = t.compiled(HTML_TEMPLATE).key
        version = hashlib.sha256((key + text_source).encode()).hexdigest()[:16]
        changed, self.version = version != self.version, version
        return changed

    def render(self, issue: Issue, links: IssueLinks) -> RenderedEmail | None:
        """The issue's subject, preheader, HTML and text; None on a quiet day set to skip."""
        if not issue.picks and self.email.quiet_day == "skip":
            return None
        ctx = build_context(issue, links, self.newsletter, self.email)
        run = self.templates.render
        subject = one_line(run(self._subject, ctx))
        ctx["subject"] = subject
        html = run(self._html, ctx)
        text = tidy(run(self._text, ctx))
        return RenderedEmail(subject=subject, preheader=ctx["preheader"], html=html, text=text)

    @property
    def template_files(self) -> list[Path]:
        """Every file that can change the output (for a preview that reloads on change)."""
        return sorted(p for d in self.dirs for p in d.iterdir() if p.is_file())


def tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    if " \n" in text or "\t\n" in text:  # the checks are cheap, the rewrite is not
        text = "\n".join(line.rstrip() for line in text.split("\n"))
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip() + "\n"
