"""What every command shares: the config loaded once, the database, and the console."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Engine

from newsletter.app.mailers import sending_mailer
from newsletter.app.settings_check import check_settings
from newsletter.app.stages import open_database
from newsletter.config import CONFIG_NAME, Config, load_config
from newsletter.errors import ConfigError

__all__ = ["App", "pass_app", "print_table", "sending_mailer"]


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
        return check_settings(load_config(self.config_path, env=self.env))

    @cached_property
    def engine(self) -> Engine:
        return open_database(self.config)

    @cached_property
    def console(self) -> Console:
        return Console(highlight=False, soft_wrap=True)

    @cached_property
    def err(self) -> Console:
        return Console(stderr=True, highlight=False, soft_wrap=True)


pass_app = click.make_pass_decorator(App)


def print_table(console: Console, columns: Sequence[str], rows: Iterable[Sequence[str]],
                wrap: Sequence[str] = ()) -> None:
    """Rows as a table on a terminal (the ``wrap`` columns fold to fit), and as tab-separated
    lines under a header line elsewhere, so that a pipe, grep or cut gets every cell whole."""
    if not console.is_terminal:
        for row in [columns, *rows]:
            click.echo("\t".join(" ".join(cell.split()) for cell in row))
        return
    table = Table(box=None)
    for name in columns:
        table.add_column(name, overflow="fold", no_wrap=name not in wrap)
    for row in rows:
        table.add_row(*row)
    console.print(table)
