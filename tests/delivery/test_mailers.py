"""The mailer contract and registry; the file, console and memory backends; secret hygiene."""

from __future__ import annotations

import io
import logging
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from newsletter.config import MailerSettings, Secrets
from newsletter.delivery.base import BACKENDS, MailerEnv, create_mailer, mailer_from_config
from newsletter.delivery.console import ConsoleMailer
from newsletter.delivery.file import FileMailer
from newsletter.delivery.message import render
from newsletter.errors import ConfigError

from .conftest import sample
from .smtp_sink import Sink


def env(tmp_path: Path, **secrets: str) -> MailerEnv:
    return MailerEnv(Secrets({f"NEWSLETTER_{k}": v for k, v in secrets.items()}), tmp_path)


def test_unknown_option_names_the_key(tmp_path: Path) -> None:
    settings = MailerSettings("smtp", {"host": "x", "pasword": "oops"})
    with pytest.raises(ConfigError, match=r"unknown key 'mailers\.bulk\.pasword'"):
        create_mailer("bulk", settings, env(tmp_path), origin="newsletter.toml")


def test_secret_option_in_the_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mailers\.default\.password"):
        create_mailer("default", MailerSettings("smtp", {"password": "x"}), env(tmp_path))
    with pytest.raises(ConfigError, match=r"mailers\.p\.api_key"):
        create_mailer("p", MailerSettings("postmark", {"api_key": "x"}), env(tmp_path))


def test_bad_option_type_and_unknown_backend(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mailers\.default\.port' must be an integer"):
        create_mailer("default", MailerSettings("smtp", {"port": "25"}), env(tmp_path))
    with pytest.raises(ConfigError, match="unknown mailer backend 'carrier-pigeon'"):
        create_mailer("default", MailerSettings("carrier-pigeon"), env(tmp_path))


def test_every_registered_backend_loads_with_defaults(tmp_path: Path) -> None:
    for backend in BACKENDS:
        options = {"domain": "mg.example.org"} if backend == "mailgun" else {}
        mailer = create_mailer("m", MailerSettings(backend, options), env(tmp_path))
        assert repr(mailer) == f"{type(mailer).__name__}(name='m')"


def test_missing_mailer_table_is_one_clear_error(make_config) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"'delivery.mailer': mailer 'default' is not "
                       r"configured.*other"):
        make_config({"mailers": {"other": {"backend": "memory"}}})
    config = make_config({"mailers": {"other": {"backend": "memory"}},
                          "delivery": {"mailer": "other"}})
    with pytest.raises(ConfigError, match=r"mailer 'default' is not configured.*other"):
        mailer_from_config(config, "default")
    assert mailer_from_config(config).name == "other"


def test_file_backend_writes_openable_eml(tmp_path: Path) -> None:
    mailer = create_mailer("f", MailerSettings("file", {"path": "mail"}), env(tmp_path))
    assert isinstance(mailer, FileMailer)
    emails = [render(sample(i)) for i in range(3)]
    with mailer:
        results = mailer.send_messages(emails)
    assert [r.status for r in results] == ["sent"] * 3
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 3 and not list((tmp_path / "mail").glob("*.part"))
    parsed = {message_from_bytes(f.read_bytes(), policy=policy.default)["Message-ID"]
              for f in files}
    assert parsed == {e.message_id for e in emails}


def test_console_backend_prints_the_message(tmp_path: Path) -> None:
    mailer = create_mailer("c", MailerSettings("console"), env(tmp_path))
    assert isinstance(mailer, ConsoleMailer)
    mailer.stream = io.StringIO()
    seen = []
    mailer.send_messages([sample(1)], seen.append)
    text = mailer.stream.getvalue()
    assert "Subject: Your papers for 5 January (1)" in text and "Hello reader 1" in text
    assert [r.status for r in seen] == ["sent"]


def test_smtp_password_comes_from_the_environment_and_never_shows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    opts = {"host": "127.0.0.1", "username": "digest", "security": "none"}
    mailer = create_mailer("bulk", MailerSettings("smtp", opts), env(tmp_path))
    with pytest.raises(ConfigError, match="NEWSLETTER_MAILER_BULK_PASSWORD"):
        mailer.open()
    secret_env = env(tmp_path, MAILER_BULK_PASSWORD="hunter2-very-secret")
    with Sink() as sink:  # the sink offers no AUTH, so login fails: the error must not leak it
        settings = MailerSettings("smtp", opts | {"port": sink.port})
        mailer = create_mailer("bulk", settings, secret_env)
        result = mailer.send_messages([sample(1)])[0]
        mailer.close()
    assert result.status == "deferred"  # the relay refused us: every message would fail alike
    everything = repr(mailer) + repr(mailer.options) + result.detail + caplog.text
    everything += repr(secret_env) + repr(secret_env.secrets)
    assert "hunter2" not in everything
