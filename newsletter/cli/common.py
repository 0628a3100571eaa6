"""What every command shares: the config loaded once, the database, and the console."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

import click
from rich.console import Console
from sqlalchemy.engine import Engine

from newsletter.config import CONFIG_NAME, Config, load_config
from newsletter.delivery.base import Mailer, mailer_from_config
from newsletter.delivery.memory import MemoryMailer
from newsletter.errors import ConfigError
from newsletter.store import open_engine

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "0.0.0.0")


class App:
    """Lazily loaded state for one CLI invocation; the only place that reads the environment."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path

    @cached_property
    def env(self) -> dict[str, str]:
        """A copy of the environment, for commands that build a config of their own."""
        return dict(os.environ)

    @cached_property
    def config(self) -> Config:
        """The newsletter's config; outside a newsletter's folder (no newsletter.toml here and
        no --config) commands refuse to run rather than create a database where they stand."""
        if self.config_path is None and not (Path.cwd() / CONFIG_NAME).is_file():
            raise ConfigError(
                f"no {CONFIG_NAME} in {Path.cwd()}: run the command in a newsletter's folder, "
                f"pass --config FILE, or start one with 'newsletter init'"
            )
        return load_config(self.config_path, env=self.env)

    @cached_property
    def engine(self) -> Engine:
        return open_engine(self.config.database_url)

    @cached_property
    def console(self) -> Console:
        return Console(highlight=False, soft_wrap=True)

    @cached_property
    def err(self) -> Console:
        return Console(stderr=True, highlight=False, soft_wrap=True)


pass_app = click.make_pass_decorator(App)


def sending_mailer(config: Config, name: str | None = None) -> Mailer:
    """The mailer that will send, refused when it would deliver nothing or wrong links.

    The memory backend keeps messages in the process (tests use it directly); a backend that
    reaches real inboxes needs ``newsletter.base_url``, or every link would point here.
    """
    mailer = mailer_from_config(config, name)
    where = f"{config.origin}: mailer {mailer.name!r}"
    if isinstance(mailer, MemoryMailer):
        raise ConfigError(
            f"{where} is the memory backend, which keeps messages in this process and delivers "
            "nothing; use the 'file' or 'console' backend to try sending"
        )
    host = urlsplit(config.newsletter.base_url).netloc.rsplit(":", 1)[0]
    if mailer.reaches_inboxes and (host in LOCAL_HOSTS or host.startswith("127.")):
        raise ConfigError(
            f"{config.origin}: key 'newsletter.base_url' is not set to a public address (it is "
            f"{config.newsletter.base_url}); real emails would carry unsubscribe and preferences "
            f"links that no reader can open. Set it before sending with mailer {mailer.name!r}"
        )
    return mailer
