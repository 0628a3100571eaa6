"""The Jinja2 environment for email templates and its layered loader.

A template is looked up in the user's folder first, then in the project's ``templates/``
(a source checkout), then in the defaults shipped inside the package.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

import newsletter
from newsletter.paper_links import safe_url
from newsletter.render.text import wrap

__all__ = ["default_dirs", "make_environment", "safe_url", "template_dirs"]



def default_dirs() -> list[Path]:
    """The package defaults: ``newsletter/templates`` in a wheel, ``templates/`` in a checkout."""
    package = Path(newsletter.__file__).resolve().parent
    dirs = [package / "templates"]
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file():
        dirs.append(checkout / "templates")
    return [d for d in dirs if d.is_dir()]


def template_dirs(user_dir: Path | None) -> list[Path]:
    """Search order: ``user_dir`` (when it exists), then the defaults; duplicates dropped."""
    candidates = ([user_dir] if user_dir is not None else []) + default_dirs()
    seen: set[Path] = set()
    out: list[Path] = []
    for path in candidates:
        resolved = path.resolve()
        if resolved.is_dir() and resolved not in seen:
            seen.add(resolved)
            out.append(resolved)
    return out


TEMPLATE_SUFFIXES = (".mjml", ".txt", ".html")


def template_sources(dirs: list[Path]) -> dict[str, str]:
    """Every template file name and its source, as the layered loader would find it."""
    found: dict[str, str] = {}
    for folder in dirs:
        for path in sorted(folder.iterdir()):
            if path.suffix in TEMPLATE_SUFFIXES and path.is_file() and path.name not in found:
                found[path.name] = path.read_text(encoding="utf-8")
    return found


def make_environment(
    dirs: list[Path], files: dict[str, str] | None = None
) -> jinja2.Environment:
    """Autoescaping everywhere except ``.txt`` templates; undefined names are errors.

    Templates come from ``dirs`` in order, or from ``files`` (name -> source) when given.
    """
    loader: jinja2.BaseLoader = (
        jinja2.DictLoader(files) if files is not None
        else jinja2.FileSystemLoader([str(d) for d in dirs])
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "mjml"),
            disabled_extensions=("txt",),
            default_for_string=True,
            default=True,
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["wrap"] = wrap
    env.filters["safe_url"] = safe_url
    return env
