"""Channel issues: an issue rendered as a team channel's platform wants it (Slack Block Kit,
Discord embeds, a Teams Adaptive Card, Matrix HTML, Telegram HTML, or a JSON webhook body),
split into ordered parts within the platform's limits."""

from __future__ import annotations

from newsletter.models import Issue
from newsletter.render.channels import discord, matrix, slack, teams, telegram, webhook
from newsletter.render.channels.digest import digest
from newsletter.render.channels.rendered import Rendered, dumps

__all__ = ["Rendered", "dumps", "render_channel"]


def render_channel(kind: str, issue: Issue, abstract_chars: int, chat_id: str = "") -> Rendered:
    """``issue`` as the parts a channel of ``kind`` is sent (``chat_id``: Telegram's)."""
    d = digest(issue, abstract_chars)
    if kind == "telegram":
        return telegram.render(d, chat_id)
    if kind == "webhook":
        return webhook.render(d, issue.issue_id)
    renderers = {"slack": slack.render, "discord": discord.render, "teams": teams.render,
                 "matrix": matrix.render}
    if kind not in renderers:
        raise ValueError(f"unknown channel kind {kind!r}")
    return renderers[kind](d)
