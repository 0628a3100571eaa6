"""Configuration: defaults, validation errors that name the key, secrets, paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import load_config
from newsletter.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsletter.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, env={})
    assert config.origin == "(defaults)"
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'newsletter.db'}"
    assert config.fetch.retries == 3


def test_full_file_is_read(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[newsletter]
name = "Brain Digest"
database_url = "sqlite:///data/nl.db"
[fetch]
timeout = 5
[[sources]]
name = "daily"
kind = "hf-api"
url = "https://example.org/api/daily_papers"
[[sources]]
path = "pages/today.txt"
[mailers.default]
backend = "smtp"
host = "127.0.0.1"
""",
        )
    )
    assert config.newsletter.name == "Brain Digest"
    assert config.fetch.timeout == 5.0
    assert [s.location for s in config.sources] == [
        "https://example.org/api/daily_papers",
        "pages/today.txt",
    ]
    assert config.mailers["default"].options == {"host": "127.0.0.1"}
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'data' / 'nl.db'}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[fetch]\ntimout = 3\n", "unknown key 'fetch.timout'"),
        ("[fetch]\ntimeout = 'soon'\n", "key 'fetch.timeout' must be a number"),
        ("[fetch]\ntimeout = -1\n", "key 'fetch.timeout' must be from 0.1 to 3600, not -1.0"),
        ("[web]\nport = -5\n", "key 'web.port' must be from 1 to 65535, not -5"),
        ("[delivery]\nlease_seconds = inf\n", "key 'delivery.lease_seconds' must be a finite"),
        ("[delivery]\nretry_base = nan\n", "key 'delivery.retry_base' must be a finite number"),
        (
            "[delivery]\nbatch_size = 99999999999999999999\n",
            "key 'delivery.batch_size' must be from 1 to 100000",
        ),
        ("[web]\nsignups_per_client_hour = -1\n", "key 'web.signups_per_client_hour' must be"),
        ("[web]\nconfirm_hours = -48\n", "key 'web.confirm_hours' must be from 0.1 to 720"),
        ("[[sources]]\nkind = 'rss'\nurl = 'https://x'\n", "key 'sources[0].kind' must be one of"),
        ("[newsletter]\nsender = 'not an email'\n", "key 'newsletter.sender' is not an email"),
        ("[newsletter]\nbase_url = 'digest.example.org'\n", "key 'newsletter.base_url' must be"),
        ("[newsletter]\nbase_url = 'ftp://example.org'\n", "key 'newsletter.base_url' must be"),
        ("[newsletter]\nbase_url = 'https://'\n", "key 'newsletter.base_url' must be"),
        ("[newsletter]\nbase_url = 'https://x.org/#top'\n", "key 'newsletter.base_url' must be"),
        ("[fetch]\nretries = true\n", "key 'fetch.retries' must be an integer"),
        ("[email]\nquiet_day = 'maybe'\n", "key 'email.quiet_day' must be one of"),
        ("[newsleter]\nname = 'x'\n", "unknown key 'newsleter'"),
        ("[[sources]]\nkind = 'feed'\n", "sources[0] needs exactly one of 'url' or 'path'"),
        ("[[sources]]\npath = 'a.txt'\ncolour = 'red'\n", "unknown key 'sources[0].colour'"),
        ("[mailers.x]\nhost = 'h'\n", "key 'mailers.x.backend' must be a string"),
        ("name = 'oops\n", "invalid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_secrets_come_from_environment_and_are_masked(tmp_path: Path) -> None:
    env = {
        "NEWSLETTER_SMTP_PASSWORD": "hunter2",
        "NEWSLETTER_DATABASE_URL": "sqlite:///o.db",
        "HOME": "/root",
    }
    config = load_config(write(tmp_path, ""), env=env)
    assert config.secrets.get("smtp_password") == "hunter2"
    assert "hunter2" not in repr(config)
    assert "SMTP_PASSWORD=***" in repr(config.secrets)
    assert "HOME" not in config.secrets
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'o.db'}"


def test_the_source_kinds_a_config_accepts_are_the_registered_ones() -> None:
    from typing import get_args

    from newsletter.config import SourceKindName
    from newsletter.sources.registry import KINDS

    assert set(get_args(SourceKindName)) == {"", *KINDS}


def test_a_database_file_that_is_not_sqlite_is_one_line(tmp_path: Path) -> None:
    from newsletter.errors import StoreError
    from newsletter.store import open_engine

    (tmp_path / "news.db").write_bytes(b"this is a text file, not a database" * 100)
    with pytest.raises(StoreError, match=r"^cannot open database sqlite:///.*news\.db: ") as info:
        open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    assert "\n" not in str(info.value)


def test_a_byte_order_mark_is_allowed(tmp_path: Path) -> None:
    """Windows editors save one; it is not a TOML statement."""
    path = tmp_path / "newsletter.toml"
    path.write_bytes(b"\xef\xbb\xbf[newsletter]\nname = 'BOM Digest'\n")
    assert load_config(path, env={}).newsletter.name == "BOM Digest"


@pytest.mark.slow
def test_a_run_without_the_seed_pages_says_so_in_one_line(tmp_path: Path) -> None:
    """The tests that read the seed pages skip without them, and the run ends saying so."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ) | {"NEWSLETTER_SEEDS": str(tmp_path / "nowhere")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(repo / "tests" / "sources" / "test_seed_ingest.py")],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )
    said = [line for line in done.stdout.splitlines() if "tests skipped: seed pages" in line]
    assert said == [
        f"{said[0].split()[0]} tests skipped: seed pages not found in {tmp_path / 'nowhere'}; "
        "set NEWSLETTER_SEEDS to the folder of seed pages (see the README, Development)"
    ], done.stdout
    assert int(said[0].split()[0]) > 0
