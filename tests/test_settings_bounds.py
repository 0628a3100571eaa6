"""Bounded settings everywhere (issue 24, item 7): every number of every section and every
mailer backend's options has bounds, an out-of-bounds mailer option is one line naming the
file and the full key, and a line break in any header setting is refused in one line."""

from __future__ import annotations

import dataclasses
import importlib
import typing
from pathlib import Path

import pytest

from newsletter.app.settings_check import check_settings
from newsletter.config import SECTIONS, SourceSettings, load_config
from newsletter.delivery.base import BACKENDS
from newsletter.errors import ConfigError

BASE = """
[newsletter]
sender = "Paper Digest <digest@news.example.org>"
base_url = "https://news.example.org"

[delivery]
mailer = "relay"

[mailers.relay]
backend = "smtp"
host = "smtp.example.org"
"""


def option_types() -> list[type]:
    found: list[type] = [*SECTIONS.values(), SourceSettings]
    for target in BACKENDS.values():
        module, _, name = target.partition(":")
        found.append(getattr(importlib.import_module(module), name).options_type)
    return found


def test_every_number_of_every_setting_and_mailer_option_is_bounded() -> None:
    loose = []
    for cls in option_types():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if hints[f.name] in (int, float) and "bounds" not in f.metadata:
                loose.append(f"{cls.__name__}.{f.name}")
    assert loose == []


def load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "newsletter.toml"
    path.write_text(text, encoding="utf-8")
    check_settings(load_config(path, {}))


@pytest.mark.parametrize(("line", "key"), [
    ("timeout = 1e9", "timeout"),
    ("port = 99999", "port"),
    ("connections = 100000", "connections"),
    ("max_per_connection = -1", "max_per_connection"),
    ("max_rate = 1e12", "max_rate"),
    ("timeout = nan", "timeout"),
])
def test_an_unbounded_mailer_option_is_one_line_naming_the_file_and_full_key(
    tmp_path: Path, line: str, key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, BASE + line + "\n")
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(str(tmp_path / "newsletter.toml") + ": ")
    assert f"key 'mailers.relay.{key}'" in text


HEADER_SETTINGS = [  # (section, key): each ends up in a header, an envelope or a request line
    ("newsletter", "name"),
    ("newsletter", "sender"),
    ("newsletter", "reply_to"),
    ("newsletter", "list_id"),
    ("email", "subject"),
    ("delivery", "unsubscribe_mailto"),
    ("delivery", "dkim_selector"),
    ("delivery", "dkim_domain"),
    ("fetch", "user_agent"),
    ("mailers.relay", "envelope_from"),
    ("mailers.relay", "local_hostname"),
    ("mailers.relay", "host"),
]


@pytest.mark.parametrize(("section", "key"), HEADER_SETTINGS)
@pytest.mark.parametrize("brk", ["\\r\\n", "\\n", "\\r"])
def test_a_line_break_in_a_header_setting_is_refused_in_one_line(
    tmp_path: Path, section: str, key: str, brk: str
) -> None:
    value = f'{key} = "digest@news.example.org{brk}Bcc: all@example.org"\n'
    base = "".join(line for line in BASE.splitlines(keepends=True)
                   if not line.startswith(f"{key} = "))  # sender and host are there already
    text = base.replace(f"[{section}]\n", f"[{section}]\n{value}", 1)
    if f"[{section}]" not in BASE:
        text += f"\n[{section}]\n{value}"
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    assert message.startswith(str(tmp_path / "newsletter.toml") + ": ")
    assert f"key '{section}.{key}' must be one line of text" in message
    assert "(CR)" in message or "(LF)" in message


def test_a_postal_address_may_span_lines(tmp_path: Path) -> None:
    text = BASE.replace("[newsletter]\n", '[newsletter]\npostal_address = """Paper Digest\n'
                        '1 Example Street\n00000 Example City"""\n', 1)
    load(tmp_path, text)  # no error: the footer joins its lines
