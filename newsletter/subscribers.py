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
    """Every ``*.toml`` in ``folder``, sorted by file name; two files may not share an email."""
    if not folder.is_dir():
        raise SubscriberError(f"{folder}: subscribers folder not found")
    subs = [load_file(p) for p in sorted(folder.glob("*.toml"))]
    seen: dict[str, str] = {}
    for sub in subs:
        key = addresses.key(sub.email)
        if key in seen:
            raise SubscriberError(
                f"{sub.origin}: field 'email': {sub.email} is also in {seen[key]}"
            )
        seen[key] = sub.origin
    return subs
