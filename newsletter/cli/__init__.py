"""The ``newsletter`` command: a thin click group over the library API.

Each module in this package exports ``commands``, a list of click commands; they are
registered here, so a new command is one new module.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import click

from newsletter import __version__
from newsletter.cli.common import App
from newsletter.errors import NewsletterError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsletter")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: ./newsletter.toml when it exists).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Personalized research-paper digests by email."""
    ctx.obj = App(config_path=config_path)


def _register() -> None:
    package = sys.modules[__name__]
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name == "common":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for command in getattr(module, "commands", []):
            cli.add_command(command)


_register()


def main() -> None:
    """Run the CLI; a ``NewsletterError`` becomes one line on stderr and exit status 2."""
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except NewsletterError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
