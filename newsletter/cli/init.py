"""``newsletter init``: a new newsletter folder with example config, subscriber and templates."""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.app.starter import write_starter
from newsletter.cli.common import App, pass_app
from newsletter.config import CONFIG_NAME


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@pass_app
def init(app: App, folder: Path, force: bool) -> None:
    """Write newsletter.toml, subscribers/example.toml and templates/ into FOLDER."""
    written = write_starter(folder, force)
    app.console.print(f"wrote {len(written)} files into {folder.resolve()}")
    app.console.print(f"next: edit {folder / CONFIG_NAME}, then `newsletter fetch`")


commands = [init]
