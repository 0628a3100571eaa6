"""The README's "Set up your own newsletter" block, followed literally as a new operator would:
from `newsletter init` to `newsletter preview`, with a folder of saved pages as the source and
no NEWSLETTER_SECRET_KEY."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def setup_block() -> list[str]:
    """The command lines of the first sh block under "Set up your own newsletter"."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set up your own newsletter", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def edit_config(config: Path, seeds: Path) -> None:
    """What the operator does at `$EDITOR newsletter.toml`: the example's network source
    swapped for a folder of saved pages."""
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"\[\[sources\]\]\nname = \"hf-daily\".*?limit = 100\n", "", text, flags=re.S)
    config.write_text(text + f'\n[[sources]]\nkind = "text"\npath = "{seeds}/"\n')


@pytest.mark.slow
def test_the_readme_setup_block_works_as_written(tmp_path: Path, seeds_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["HF_HUB_OFFLINE"] = "1"
    here = tmp_path
    said: list[str] = []
    for line in setup_block():
        for command in line.split("&&"):
            words = shlex.split(command)
            if words[0] == "cd":
                here = here / words[1]
                continue
            if words[0] == "$EDITOR":
                edit_config(here / words[1], seeds_dir)
                continue
            assert words[0] == "newsletter", line
            done = subprocess.run(
                [sys.executable, "-m", "newsletter", *words[1:]],
                cwd=here, env=env, capture_output=True, text=True, timeout=300,
            )
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
            said.append(done.stdout + done.stderr)
    assert said and "NEWSLETTER_SECRET_KEY is not set: links in this preview" in said[-1]
    written = sorted(p.name for p in (here / "preview").iterdir())
    assert [p.rsplit(".", 1)[1] for p in written] == ["eml", "html", "txt"]
    html = next((here / "preview").glob("*.html")).read_text(encoding="utf-8")
    assert "preview=1" in html and "unsubscribe?token=" in html
    assert said[1].count(" entries, ") == 5  # fetch reported each page of the folder


def trial_block() -> list[str]:
    """The command lines of the sh block that sends to a relay on this machine."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("send to an SMTP relay on this machine", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


@pytest.mark.slow
def test_the_readme_trial_sends_to_a_local_relay(tmp_path: Path, seeds_dir: Path) -> None:
    """From a fresh `init` to a message in a relay on 127.0.0.1, editing only the keys the
    README names; the commands say that it is a local trial."""
    from aiosmtpd.controller import Controller

    from tests.web.test_browser import Inbox, free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["HF_HUB_OFFLINE"] = "1"
    here = tmp_path
    for line in setup_block()[:3]:  # init, cd, the sources swapped for the saved pages
        for command in line.split("&&"):
            words = shlex.split(command)
            if words[0] == "cd":
                here = here / words[1]
            elif words[0] == "$EDITOR":
                edit_config(here / words[1], seeds_dir)
            else:
                assert newsletter(here, env, words[1:]).returncode == 0
    inbox, port = Inbox(), free_port()
    relay = Controller(inbox, hostname="127.0.0.1", port=port)
    said = ""
    try:
        for line in trial_block():
            words = shlex.split(line.rstrip("&").strip()) if not line.startswith("export") else []
            if line.startswith("python -m aiosmtpd"):
                assert "127.0.0.1:8025" in line
                relay.start()
            elif words[:2] == ["$EDITOR", "newsletter.toml"]:
                config = here / "newsletter.toml"
                config.write_text(re.sub(
                    r'\[mailers\.default\]\nbackend = "file".*?\npath = [^\n]*\n',
                    f'[mailers.default]\nbackend = "smtp"\nhost = "127.0.0.1"\nport = {port}\n'
                    'security = "none"\n', config.read_text(encoding="utf-8"), flags=re.S))
            elif words[:2] == ["$EDITOR", "subscribers/example.toml"]:
                reader = here / "subscribers" / "example.toml"
                reader.write_text(reader.read_text().replace('send_at = "07:00"',
                                                             'send_at = "00:00"'))
            elif line.startswith("export NEWSLETTER_SECRET_KEY="):
                env["NEWSLETTER_SECRET_KEY"] = "a-secret-for-the-readme-trial-0123"
            else:
                done = newsletter(here, env, words[1:])
                assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
                said = done.stderr
    finally:
        relay.stop()
    assert said.startswith(f"local trial: mailer 'default' hands messages to the SMTP relay at "
                           f"127.0.0.1:{port} on this machine")
    assert len(inbox.messages) == 1 and inbox.messages[0]["To"] == "Ada <ada@example.org>"
    assert "http://127.0.0.1:8000/unsubscribe?token=" in inbox.body(0, "plain")


def newsletter(
    here: Path, env: dict[str, str], args: list[str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsletter", *args], cwd=here, env=env,
                          capture_output=True, text=True, timeout=300)
