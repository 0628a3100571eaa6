"""What every command shares: the config loaded once, the database, and the console."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import click
from rich.console import Console
from sqlalchemy.engine import Engine

from newsletter.config import Config, load_config
from newsletter.store import open_engine


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
        return load_config(self.config_path, env=self.env)

    @cached_property
    def engine(self) -> Engine:
        return open_engine(self.config.database_url)

    @cached_property
    def console(self) -> Console:
        return Console(highlight=False, soft_wrap=True)

    @cached_property
    def err(self) -> Console:
        return Console(stderr=True, highlight=False)


pass_app = click.make_pass_decorator(App)
