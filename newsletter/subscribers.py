"""The subscribers folder: one TOML file per reader, read and validated by ``newsletter.profile``.

Every error names the file, the field and what is wrong with it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from newsletter import addresses
from newsletter.errors import SubscriberError
from newsletter.models import Subscriber
from newsletter.profile import from_dict


def load_file(path: Path) -> Subscriber:
    """Read and validate one subscriber file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise SubscriberError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise SubscriberError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SubscriberError(f"{path}: invalid TOML: {exc}") from None
    return from_dict(data, str(path))


def load_dir(folder: Path) -> list[Subscriber]:
    """Every ``*.toml`` in ``folder``, sorted by file name; two files may not share an email.
    The first bad file is an error."""
    subs, problems = read_dir(folder)
    if problems:
        raise next(iter(problems.values()))
    return subs


def read_dir(folder: Path) -> tuple[list[Subscriber], dict[Path, SubscriberError]]:
    """The good files of ``folder`` and, apart, what is wrong with each bad one (a file that
    repeats an earlier file's email is a bad one)."""
    if not folder.is_dir():
        raise SubscriberError(f"{folder}: subscribers folder not found")
    subs: list[Subscriber] = []
    problems: dict[Path, SubscriberError] = {}
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            sub = load_file(path)
        except SubscriberError as exc:
            problems[path] = exc
            continue
        key = addresses.key(sub.email)
        if key in seen:
            message = f"{sub.origin}: field 'email': {sub.email} is also in {seen[key]}"
            problems[path] = SubscriberError(message)
            continue
        seen[key] = sub.origin
        subs.append(sub)
    return subs, problems
