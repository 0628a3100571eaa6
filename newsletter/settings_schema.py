"""Turn a TOML table into a typed, frozen settings dataclass, naming any bad key in one line.

Numbers are finite and within their field's bounds; text is one line without control
characters (settings end up in headers, URLs and log lines: a CR or LF in ``reply_to`` or
``list_id`` would make a wrong header) unless the field is declared ``multiline``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from newsletter.errors import ConfigError

T = TypeVar("T")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # C0 controls but tab, and DEL
_NAMES = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)"}


def build(cls: type[T], table: Mapping[str, Any], where: str, origin: str) -> T:
    """Build ``cls`` from ``table``; ``where`` is the dotted key prefix, ``origin`` the file."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{origin}: '{where}' must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, raw in table.items():
        name = key.replace("-", "_")
        if name not in fields or not fields[name].init:
            known = ", ".join(sorted(f for f in fields if fields[f].init))
            raise ConfigError(f"{origin}: unknown key '{_join(where, key)}' (known: {known})")
        values[name] = coerce(raw, hints[name], _join(where, key), origin)
        _in_bounds(values[name], fields[name], _join(where, key), origin)
        if not fields[name].metadata.get("multiline"):
            _one_line(values[name], _join(where, key), origin)
    try:
        return cls(**values)
    except TypeError as exc:  # a required field is missing
        missing = [n for n, f in fields.items() if _required(f) and n not in values]
        raise ConfigError(f"{origin}: missing key '{_join(where, missing[0])}'") from exc
    except ValueError as exc:  # __post_init__ validation; "key 'x'" is named in full
        text = re.sub(r"^key '([^'.]+)'", lambda m: f"key '{_join(where, m[1])}'", str(exc))
        raise ConfigError(f"{origin}: {text}") from exc


def bounded(default: Any, low: float, high: float) -> Any:
    """A settings field whose number must lie in [low, high] (checked by ``build``)."""
    return dataclasses.field(default=default, metadata={"bounds": (low, high)})


def multiline(default: str) -> Any:
    """A text setting that may hold line breaks (a postal address); others must not."""
    return dataclasses.field(default=default, metadata={"multiline": True})


def _one_line(value: Any, key: str, origin: str) -> None:
    """Text (or each text in a list) holds no line break or other control character."""
    if isinstance(value, tuple):
        for i, item in enumerate(value):
            _one_line(item, f"{key}[{i}]", origin)
        return
    found = _CONTROL.search(value) if isinstance(value, str) else None
    if found:
        char = found.group()
        what = _NAMES.get(char, f"the control character {char!r}")
        raise ConfigError(f"{origin}: key '{key}' must be one line of text, but it holds {what} "
                          f"at position {found.start() + 1}")


def _in_bounds(value: Any, f: dataclasses.Field[Any], key: str, origin: str) -> None:
    """Numbers are finite, and within the field's declared bounds."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{origin}: key '{key}' must be a finite number, not {value!r}")
    low, high = f.metadata.get("bounds", (None, None))
    if isinstance(value, int | float) and low is not None and not low <= value <= high:
        raise ConfigError(f"{origin}: key '{key}' must be from {low:g} to {high:g}, not {value!r}")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def coerce(raw: Any, hint: Any, key: str, origin: str) -> Any:
    """Check ``raw`` against a simple type hint (scalars, optionals, tuples, literals, dicts)."""
    origin_type = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin_type in (typing.Union, types.UnionType):
        if raw is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        return coerce(raw, options[0], key, origin)
    if origin_type is typing.Literal:
        if raw not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{origin}: key '{key}' must be one of {allowed}, not {raw!r}")
        return raw
    if origin_type is tuple:
        if not isinstance(raw, list):
            raise ConfigError(f"{origin}: key '{key}' must be a list")
        return tuple(coerce(item, args[0], f"{key}[{i}]", origin) for i, item in enumerate(raw))
    if origin_type is dict or hint is dict:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{origin}: key '{key}' must be a table")
        return dict(raw)
    if hint is Any:
        return raw
    return _scalar(raw, hint, key, origin)


def _scalar(raw: Any, hint: Any, key: str, origin: str) -> Any:
    if hint is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if hint is int and isinstance(raw, bool):
        raise ConfigError(f"{origin}: key '{key}' must be an integer, not {raw!r}")
    if not isinstance(raw, hint):
        raise ConfigError(f"{origin}: key '{key}' must be {_type_name(hint)}, not {raw!r}")
    return raw


def _type_name(hint: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )
