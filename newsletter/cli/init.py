"""``newsletter init``: a new newsletter folder with example config, subscriber and templates."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from newsletter.cli.common import App, pass_app
from newsletter.config import CONFIG_NAME
from newsletter.errors import ConfigError
from newsletter.render.environment import default_dirs

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@pass_app
def init(app: App, folder: Path, force: bool) -> None:
    """Write newsletter.toml, subscribers/example.toml and templates/ into FOLDER."""
    plan = {
        folder / CONFIG_NAME: EXAMPLES / "newsletter.toml",
        folder / "subscribers" / "example.toml": EXAMPLES / "subscriber.toml",
    }
    for source in sorted(default_dirs()[0].iterdir()):
        if source.is_file():
            plan[folder / "templates" / source.name] = source
    existing = [str(p) for p in plan if p.exists()]
    if existing and not force:
        raise ConfigError(f"{existing[0]}: already exists (use --force to overwrite)")
    _write(plan)
    app.console.print(f"wrote {len(plan)} files into {folder.resolve()}")
    app.console.print(f"next: edit {folder / CONFIG_NAME}, then `newsletter fetch`")


def _write(plan: dict[Path, Path]) -> None:
    """Copy every file of ``plan`` or, on the first failure, remove the new ones and say why
    in one line naming the path."""
    written: list[Path] = []
    target = next(iter(plan))
    try:
        for target, source in plan.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                written.append(target)
            shutil.copyfile(source, target)
    except OSError as exc:
        for path in written:
            path.unlink(missing_ok=True)
        where = exc.filename or target
        raise ConfigError(f"{where}: cannot write: {exc.strerror or exc}") from None


commands = [init]
