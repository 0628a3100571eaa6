"""The operator's first hour, as commands: preview without a secret, safe mailer defaults,
plain counts, one summary, a truthful match line, and progress on long work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = """Daily Papers

Mar 11

Learning Delays in Spiking Neural Networks

Spiking neural networks are a promising direction for power-efficient temporal processing.

Mass-Radius Relationships for Solid Exoplanets

We use new interior models of cold planets to study the mass-radius relation of exoplanets.
"""


def newsletter(site: Path, *args: str, secret: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    if secret:
        env["NEWSLETTER_SECRET_KEY"] = "a-secret-for-tests"
    return subprocess.run(
        [sys.executable, "-m", "newsletter", *args],
        cwd=site, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "newsletter.toml").write_text(
        '[newsletter]\ndatabase_url = "sqlite:///news.db"\n'
        '[[sources]]\npath = "page.txt"\n'
        '[match]\nsemantic = false\n'
        '[mailers.default]\nbackend = "file"\npath = "outbox"\n'
        '[mailers.relay]\nbackend = "smtp"\nhost = "127.0.0.1"\nport = 9\nsecurity = "none"\n'
        '[mailers.remote]\nbackend = "smtp"\nhost = "smtp.example.org"\n'
        '[mailers.mem]\nbackend = "memory"\n'
    )
    (tmp_path / "page.txt").write_text(PAGE)
    (tmp_path / "subscribers").mkdir()
    (tmp_path / "subscribers" / "ada.toml").write_text(
        'email = "ada@example.org"\ntopics = ["spiking neural networks"]\nsend_at = "00:00"\n'
    )
    return tmp_path


@pytest.mark.slow
def test_preview_needs_no_secret_and_marks_its_links(site: Path) -> None:
    done = newsletter(site, "preview", "--subscriber", "ada@example.org", "--source", "page.txt")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == (
        "NEWSLETTER_SECRET_KEY is not set: links in this preview are signed with a throwaway "
        "key and marked preview=1; they will not work on the live site"
    )
    text = next((site / "preview").glob("*.txt")).read_text()
    assert "&preview=1" in text or "preview=1" in text
    real = newsletter(site, "preview", "--subscriber", "ada@example.org", "--out", "p2",
                      "--source", "page.txt", secret=True)
    assert "NEWSLETTER_SECRET_KEY" not in real.stderr
    assert "preview=1" not in next((site / "p2").glob("*.txt")).read_text()


@pytest.mark.parametrize("command", [["send", "--mailer", "remote"], ["worker", "--once"]])
def test_a_mailer_that_reaches_inboxes_needs_a_public_base_url(
    site: Path, command: list[str]
) -> None:
    if command[0] == "worker":
        config = (site / "newsletter.toml").read_text()
        (site / "newsletter.toml").write_text(config + '[delivery]\nmailer = "remote"\n')
    done = newsletter(site, *command, secret=True)
    assert done.returncode == 2
    assert done.stderr == (
        f"error: {site / 'newsletter.toml'}: key 'newsletter.base_url' is not set to a public "
        "address (it is http://127.0.0.1:8000); real emails would carry unsubscribe and "
        "preferences links that no reader can open. Set it before sending with mailer 'remote' "
        "(or, for a trial on this machine, send to an SMTP relay on 127.0.0.1)\n"
    )


def test_the_memory_mailer_is_refused_outside_tests(site: Path) -> None:
    done = newsletter(site, "send", "--mailer", "mem", secret=True)
    assert (done.returncode, done.stderr) == (
        2,
        f"error: {site / 'newsletter.toml'}: mailer 'mem' is the memory backend, which keeps "
        "messages in this process and delivers nothing; use the 'file' or 'console' backend "
        "to try sending\n",
    )


@pytest.mark.slow
def test_counts_read_as_english_and_send_says_its_summary_once(site: Path) -> None:
    run = newsletter(site, "run", secret=True)
    assert run.returncode == 0, run.stderr
    assert "matched 2 candidate papers: 1 issue enqueued" in run.stdout
    papers = newsletter(site, "papers", "--search", "exoplanets")
    assert papers.stdout.rstrip().endswith("\n1 paper")
    again = newsletter(site, "send", secret=True)
    assert again.stdout == "sent 0, retrying 0, failed 0 (0 bounced), suppressed 0\n"
    assert again.stderr == ""


@pytest.mark.slow
def test_match_says_when_papers_were_already_sent(site: Path) -> None:
    assert newsletter(site, "run", secret=True).returncode == 0
    done = newsletter(site, "match", "--subscriber", "ada@example.org")
    assert done.stdout.splitlines()[0] == (
        "ada@example.org: 0 of 2 papers (words only); 1 paper of them already sent to this reader"
    )


@pytest.mark.slow
def test_papers_are_listed_by_publication_date(site: Path) -> None:
    (site / "page.txt").write_text(
        "Daily Papers\n\nMar 11\n\nOlder Paper On Spikes\n\nAn abstract long enough to count as "
        "one, about spikes.\n• 2 authors\n·\nJan 3, 2020\n\nNewer Paper On Spikes\n\nAn abstract "
        "long enough to count as one, about spikes too.\n• 2 authors\n·\nFeb 3, 2024\n"
    )
    assert newsletter(site, "fetch").returncode == 0
    listed = newsletter(site, "papers").stdout
    assert listed.index("Newer Paper") < listed.index("Older Paper")


@pytest.mark.slow
def test_removing_a_reader_drops_their_queued_issue(site: Path) -> None:
    assert newsletter(site, "run", "--no-send", secret=True).returncode == 0
    assert newsletter(site, "subscribers", "sync").returncode == 0
    done = newsletter(site, "subscribers", "remove", "ada@example.org", "--yes")
    assert done.stdout == "removed ada@example.org and 1 queued message\n", done.stderr
    sent = newsletter(site, "send", secret=True)
    assert sent.stdout.startswith("sent 0,")
    assert not list((site / "outbox").glob("*.eml"))


@pytest.mark.slow
def test_a_relay_that_cannot_be_reached_is_exit_75_and_nothing_lost(site: Path) -> None:
    config = (site / "newsletter.toml").read_text()
    (site / "newsletter.toml").write_text(
        config.replace('database_url = "sqlite:///news.db"\n',
                       'database_url = "sqlite:///news.db"\nbase_url = "https://news.example.org"\n')
        + '[delivery]\nmailer = "relay"\n'
    )
    run = newsletter(site, "run", secret=True)
    assert run.returncode == 75, run.stderr
    assert "deferred 1 (relay fault: connection to 127.0.0.1 failed" in run.stdout
    again = newsletter(site, "send", secret=True)  # paused: the retry is not due yet
    assert again.returncode == 0 and again.stdout.startswith("sent 0,")
