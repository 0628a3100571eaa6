"""The files a new newsletter starts with: an example config, an example subscriber and the
email templates, written all or none."""

from __future__ import annotations

import shutil
from pathlib import Path

from newsletter.config import CONFIG_NAME
from newsletter.errors import ConfigError
from newsletter.render.environment import default_dirs

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def starter_files(folder: Path) -> dict[Path, Path]:
    """Each file a new newsletter in ``folder`` gets, and the packaged file it copies."""
    plan = {
        folder / CONFIG_NAME: EXAMPLES / "newsletter.toml",
        folder / "subscribers" / "example.toml": EXAMPLES / "subscriber.toml",
    }
    for source in sorted(default_dirs()[0].iterdir()):
        if source.is_file():
            plan[folder / "templates" / source.name] = source
    return plan


def write_starter(folder: Path, force: bool = False) -> list[Path]:
    """Write the starter files into ``folder``; refuse (in one line) to overwrite one that
    exists unless ``force``; on a failure, remove the files this call created."""
    plan = starter_files(folder)
    existing = [str(p) for p in plan if p.exists()]
    if existing and not force:
        raise ConfigError(f"{existing[0]}: already exists (use --force to overwrite)")
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
    return list(plan)
