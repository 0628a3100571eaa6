"""The subscribers folder: one TOML file per reader, read and validated by ``newsletter.profile``.

Every error names the file, the field and what is wrong with it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from newsletter import addresses, channel_names
from newsletter.errors import SubscriberError
from newsletter.models import Subscriber
from newsletter.profile import from_dict


def load_file(path: Path) -> Subscriber:
    """Read and validate one subscriber file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise SubscriberError(f"{path}: file not found") from None
    except OSError as exc:  # a folder named *.toml, no permission
        raise SubscriberError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SubscriberError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SubscriberError(f"{path}: invalid TOML: {exc}") from None
    return from_dict(channel_reader(data, str(path)), str(path))


def channel_reader(data: dict[str, object], origin: str) -> dict[str, object]:
    """A file with ``channel = "NAME"`` in place of ``email`` describes a team channel: the
    profile is the channel's, kept under the channel's address (``channel_names``)."""
    if "channel" not in data:
        return data
    name = data["channel"]
    if "email" in data:
        raise SubscriberError(f"{origin}: field 'channel': a channel has no 'email'; "
                              "give one of the two")
    if not isinstance(name, str) or not channel_names.is_name(name):
        raise SubscriberError(f"{origin}: field 'channel': {name!r} is not a channel name "
                              "(lower-case letters, digits, '-' or '_', as in [channels.NAME])")
    rest = {k: v for k, v in data.items() if k != "channel"}
    return {"email": channel_names.address(name), **rest}


def load_dir(folder: Path) -> list[Subscriber]:
    """Every ``*.toml`` in ``folder``, sorted by file name; two files may not share an email.
    The first bad file is an error."""
    subs, problems = read_dir(folder)
    if problems:
        raise next(iter(problems.values()))
    return subs


def read_dir(folder: Path) -> tuple[list[Subscriber], dict[Path, SubscriberError]]:
    """The good files of ``folder`` and, apart, what is wrong with each bad one. Files that
    share an email are all bad: which one is meant is the operator's call."""
    if not folder.is_dir():
        raise SubscriberError(f"{folder}: subscribers folder not found")
    problems: dict[Path, SubscriberError] = {}
    by_email: dict[str, list[tuple[Path, Subscriber]]] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            sub = load_file(path)
        except SubscriberError as exc:
            problems[path] = exc
            continue
        by_email.setdefault(addresses.key(sub.email), []).append((path, sub))
    subs = []
    for same in by_email.values():
        if len(same) == 1:
            subs.append(same[0][1])
            continue
        for path, sub in same:
            others = ", ".join(str(p) for p, _ in same if p != path)
            message = f"{path}: field 'email': {sub.email} is also in {others}"
            problems[path] = SubscriberError(message)
    problems = dict(sorted(problems.items()))
    return sorted(subs, key=lambda s: s.origin), problems
