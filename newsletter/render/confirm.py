"""The double opt-in confirmation email, rendered from ``confirm.mjml`` and ``confirm.txt``.

The templates are compiled once, when the renderer is built; each sign-up is then one Jinja
pass, which shows the reader the topics, exclusions and authors they asked for.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from newsletter.config import NewsletterSettings
from newsletter.models import Subscriber
from newsletter.render.context import Context, newsletter_view
from newsletter.render.environment import safe_url
from newsletter.render.renderer import RenderedEmail, tidy
from newsletter.render.templates import Templates
from newsletter.render.text import one_line, squash
from newsletter.wording import duration

HTML_TEMPLATE = "confirm.mjml"
TEXT_TEMPLATE = "confirm.txt"


class ConfirmRenderer:
    """Render confirmation emails with the layered templates: ``user_dir``, then the defaults."""

    def __init__(self, newsletter: NewsletterSettings, user_dir: Path | None = None) -> None:
        self.newsletter = newsletter
        self.templates = Templates(user_dir)
        self._html = self.templates.mjml(HTML_TEMPLATE)
        self._text = self.templates.text(TEXT_TEMPLATE)

    def render(self, sub: Subscriber, link: str, valid_for: timedelta) -> RenderedEmail:
        """The email asking ``sub`` to open ``link`` (valid for ``valid_for``) to confirm."""
        ctx = self.context(sub, link, valid_for)
        return RenderedEmail(
            subject=ctx["subject"],
            preheader=ctx["preheader"],
            html=self.templates.render(self._html, ctx),
            text=tidy(self.templates.render(self._text, ctx)),
        )

    def context(self, sub: Subscriber, link: str, valid_for: timedelta) -> Context:
        """What ``confirm.mjml`` and ``confirm.txt`` may use (see templates/README.md)."""
        newsletter = newsletter_view(self.newsletter)
        subject = one_line(f"Confirm your subscription to {newsletter.name}")
        return {
            "newsletter": newsletter,
            "subscriber": SimpleNamespace(email=sub.email, name=squash(sub.name)),
            "topics": [squash(t) for t in sub.topics],
            "exclude": [squash(t) for t in sub.exclude],
            "authors": [squash(a) for a in sub.authors],
            "liked": len(sub.papers) + len(sub.library),
            "link": safe_url(link),
            "valid_for": duration(valid_for),
            "subject": subject,
            "preheader": f"One click and your first issue of {newsletter.name} is on its way.",
        }

