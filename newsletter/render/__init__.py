"""Render an issue into subject, preheader, HTML and plain text from MJML+Jinja2 templates."""

from __future__ import annotations

from newsletter.render.renderer import RenderedEmail, Renderer

__all__ = ["RenderedEmail", "Renderer"]
