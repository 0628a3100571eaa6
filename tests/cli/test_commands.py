"""The CLI end to end: demo, init, fetch, papers and run, and that every command is documented."""

from __future__ import annotations

import email
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.errors import NewsletterError

REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    if result.exception and not isinstance(result.exception, (SystemExit, NewsletterError)):
        raise result.exception
    return result.exit_code, result.output


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "newsletter", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "fetch" in out and "demo" in out


def test_every_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"newsletter {name}" in readme, f"`newsletter {name}` is not documented in README"


def test_fetch_reports_counts_and_fails_when_a_source_fails(
    seeds_dir: Path, tmp_path: Path
) -> None:
    env = {"NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    seed = str(seeds_dir / "000_6553f7b6cd8f9837.txt")
    (tmp_path / "newsletter.toml").write_text("")
    config = ("--config", str(tmp_path / "newsletter.toml"))
    code, out = invoke(
        *config, "fetch", "--source", seed, "--source", str(tmp_path / "nope.txt"), env=env
    )
    assert code == 1
    assert "23 entries, 23 new, 0 updated, 0 unchanged" in out
    assert "nope.txt: cannot read file" in out
    code, out = invoke(*config, "fetch", "--source", seed, env=env)
    assert code == 0 and "0 new, 0 updated, 23 unchanged" in out
    code, out = invoke(*config, "papers", "--json", "--search", "exoplanets", env=env)
    papers = json.loads(out)
    assert code == 0 and papers
    assert all("exoplanet" in (p["title"] + p["abstract"]).lower() for p in papers)
    assert {"title", "url", "abstract", "authors", "published", "upvotes"} <= papers[0].keys()


def test_unconfigured_fetch_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "newsletter.toml").write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "fetch"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "no [[sources]] configured" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", ["papers", "fetch", "run", "send", "status", "match -s a"])
def test_outside_a_newsletter_commands_refuse_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", *command.replace("-s", "--subscriber").split()],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"error: no newsletter.toml in {tmp_path}: run the command in a newsletter's folder, "
        "pass --config FILE, or start one with 'newsletter init'\n"
    )
    assert list(tmp_path.iterdir()) == []  # no database appeared
    helped = subprocess.run(
        [sys.executable, "-m", "newsletter", command.split()[0], "--help"],
        capture_output=True,
        text=True,
    )
    assert helped.returncode == 0 and "Usage:" in helped.stdout


def test_init_writes_a_valid_config_subscriber_and_templates(tmp_path: Path) -> None:
    code, out = invoke("init", str(tmp_path / "nl"))
    assert code == 0, out
    for name in ("email.mjml", "email.txt", "confirm.mjml", "confirm.txt"):
        assert (tmp_path / "nl" / "templates" / name).is_file(), name
    code, out = invoke(
        "--config",
        str(tmp_path / "nl" / "newsletter.toml"),
        "subscribers",
        "show",
        str(tmp_path / "nl" / "subscribers" / "example.toml"),
    )
    assert code == 0, out
    assert "ada@example.org" in out
    code, _ = invoke("init", str(tmp_path / "nl"))
    assert code != 0


@pytest.mark.slow
def test_init_where_nothing_can_be_written_is_one_line_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    def init(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "newsletter", "init", *args]
        return subprocess.run(command, capture_output=True, text=True)

    (tmp_path / "afile").write_text("not a folder")
    done = init(str(tmp_path / "afile" / "nl"))
    assert done.returncode == 2
    assert done.stderr == f"error: {tmp_path / 'afile' / 'nl'}: cannot write: Not a directory\n"
    taken = tmp_path / "taken"
    (taken / "templates" / "email.mjml").mkdir(parents=True)  # a folder where a file goes
    done = init("--force", str(taken))
    assert done.returncode == 2
    where = taken / "templates" / "email.mjml"
    assert done.stderr == f"error: {where}: cannot write: Is a directory\n"
    written = [p for p in taken.rglob("*") if p.is_file()]
    assert written == []  # the config and subscriber it wrote first are removed again


def test_demo_runs_the_whole_pipeline(tmp_path: Path) -> None:
    code, out = invoke("demo", "--dir", str(tmp_path / "demo"))
    assert code == 0, out
    emails = sorted((tmp_path / "demo" / "outbox").glob("*.eml"))
    previews = sorted((tmp_path / "demo" / "preview").glob("*.html"))
    assert len(emails) == 3 and len(previews) == 3
    message = email.message_from_bytes(emails[0].read_bytes())
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.search(r"\d+ emails enqueued, \d+ written as \.eml", out)
    code, out = invoke("--config", str(tmp_path / "demo" / "newsletter.toml"), "papers", "--json")
    assert code == 0 and len(json.loads(out)) >= 10


def test_the_example_config_with_every_commented_block_enabled_is_valid(tmp_path: Path) -> None:
    """The commented examples in the config that `init` writes must be right too."""
    from newsletter.config import load_config
    from newsletter.delivery.base import mailer_from_config

    example = REPO / "newsletter" / "examples" / "newsletter.toml"
    lines = example.read_text(encoding="utf-8").splitlines()
    enabled = [ln[2:] if re.match(r"^# (\[|[a-z_]+ = )", ln) else ln for ln in lines]
    path = tmp_path / "newsletter.toml"
    path.write_text("\n".join(enabled), encoding="utf-8")
    config = load_config(path, env={})
    assert len(config.sources) == 3
    assert config.newsletter.reply_to == "editors@example.org"
    assert repr(mailer_from_config(config, "smtp"))
