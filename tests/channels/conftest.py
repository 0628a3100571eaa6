"""A newsletter project folder with one email reader and one reader per channel kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.channels.fakes import toml

KINDS = ("slack", "discord", "teams", "matrix", "telegram", "webhook")
SECRET_KEY = "channels-test-secret-0123456789abcdef"
TOPICS = ["language models", "reinforcement learning", "diffusion", "robotics", "vision"]


def write_project(folder: Path, seeds: list[str], smtp_port: int, channels: dict[str, Any],
                  *, max_papers: int = 40, extra: str = "") -> Path:
    """newsletter.toml (the seeds as sources, an SMTP relay on loopback, the channels) and a
    subscribers folder: ada@example.org by email, and a channel reader per channel."""
    sources = "\n".join(f'[[sources]]\npath = "{p}"\n' for p in seeds)
    config = folder / "newsletter.toml"
    config.write_text(f"""
[newsletter]
database_url = "sqlite:///news.db"
sender = "Paper Digest <digest@news.example.org>"
postal_address = "1 Test Road"

[match]
semantic = false

[delivery]
mailer = "relay"
{extra}
[mailers.relay]
backend = "smtp"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
timeout = 10

{sources}
{toml(channels)}
""", encoding="utf-8")
    subs = folder / "subscribers"
    subs.mkdir(exist_ok=True)
    topics = json.dumps(TOPICS)
    (subs / "ada.toml").write_text(
        f'email = "ada@example.org"\nname = "Ada"\ntopics = {topics}\nsend_at = "00:00"\n',
        encoding="utf-8")
    for name in channels:
        (subs / f"{name}.toml").write_text(
            f'channel = "{name}"\nname = "Lab {name.split("-")[-1]} <&>"\ntopics = {topics}\n'
            f'send_at = "00:00"\nmax_papers = {max_papers}\nabstracts = "full"\n',
            encoding="utf-8")
    return config
