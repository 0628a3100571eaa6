"""Folder and glob sources: one local ``path`` that stands for many pages, one source each.

A folder holds its files with the kind's suffixes (any kind's when ``kind`` is not set), sorted
by name, not recursive, hidden files skipped. A glob (``snapshots/*.txt``, ``**`` allowed)
holds every file it matches. Each page becomes a source of its own, named after the folder or
the glob's fixed part (``snapshots/001.txt``), so one bad page never stops the others.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path, PurePath

from newsletter.config import Config, SourceSettings
from newsletter.errors import SourceError
from newsletter.sources.registry import KINDS, get_kind


def expand(specs: Iterable[SourceSettings], config: Config) -> list[SourceSettings]:
    """Every spec, with each folder or glob replaced by its pages.

    A folder or glob that holds no page (or cannot be listed) stays as it is, so that reading
    it reports why in one line.
    """
    out: list[SourceSettings] = []
    for spec in specs:
        try:
            out.extend(pages(spec, config))
        except SourceError:
            out.append(spec)
    return out


def pages(spec: SourceSettings, config: Config) -> list[SourceSettings]:
    """One spec per page of a folder or glob source; ``[spec]`` for a file or a URL.

    Raises ``SourceError`` naming the source when a folder or glob holds no page.
    """
    if not spec.path:
        return [spec]
    try:
        full = config.path(spec.path)
        if full.is_dir():
            return _folder(spec, full)
        if glob.has_magic(spec.path) and not full.exists():
            return _glob(spec, config)
    except (OSError, ValueError):  # ValueError: a NUL in the path
        pass  # reading the path as a file reports the problem
    return [spec]


def _folder(spec: SourceSettings, folder: Path) -> list[SourceSettings]:
    suffixes = _suffixes(spec)
    try:
        files = sorted(
            p.name
            for p in folder.iterdir()
            if not p.name.startswith(".") and p.suffix.lower() in suffixes and p.is_file()
        )
    except OSError as exc:
        raise SourceError(_name(spec), f"cannot read folder: {exc.strerror or exc}") from None
    if not files:
        shown = ", ".join(f"*{s}" for s in suffixes)
        raise SourceError(_name(spec), f"no pages ({shown})")
    return [_page(spec, name, folder / name) for name in files]


def _glob(spec: SourceSettings, config: Config) -> list[SourceSettings]:
    parts = PurePath(spec.path).parts
    cut = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    root = config.path(str(PurePath(*parts[:cut])) if cut else "")
    pattern = str(PurePath(*parts[cut:]))
    found = sorted(glob.glob(pattern, root_dir=root, recursive=True))
    files = [rel for rel in found if (root / rel).is_file()]
    if not files:
        raise SourceError(_name(spec), "no files match")
    return [_page(spec, PurePath(rel).as_posix(), root / rel) for rel in files]


def _suffixes(spec: SourceSettings) -> tuple[str, ...]:
    """The suffixes a folder's pages may have: the kind's, or every kind's."""
    if spec.kind:
        return get_kind(spec.kind, _name(spec)).suffixes
    return tuple(dict.fromkeys(s for kind in KINDS.values() for s in kind.suffixes))


def _page(spec: SourceSettings, rel: str, path: Path) -> SourceSettings:
    return replace(spec, name=page_name(_name(spec), rel), path=str(path))


def _name(spec: SourceSettings) -> str:
    return spec.name or spec.path


def page_name(name: str, rel: str) -> str:
    """A page's source name: the folder's name (or the glob's fixed part), then ``rel``.

    >>> page_name("snapshots/", "001.txt"), page_name("snaps/**/*.txt", "a/b.txt")
    ('snapshots/001.txt', 'snaps/a/b.txt')
    """
    parts = name.split("/")
    cut = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    head = "/".join(parts[:cut]).rstrip("/")
    if head:
        return f"{head}/{rel}"
    return f"/{rel}" if cut else rel  # "/" or "/*.txt": the root; "*.txt": here
