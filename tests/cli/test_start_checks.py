"""What a command checks before it does anything: the whole config (every mailer's options, the
mailer delivery names, the fetch cron and its timezone), and, for the commands that send, the
signing key and the mailer; a source on a loopback HTTP server shows that nothing was fetched."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sources.http_site import Reply, Site, serve

PAGE = b"Daily Papers\n\nMar 11\n\nSpiking Neural Networks On Chips\n\nAn abstract.\n"


@pytest.fixture
def source() -> Iterator[Site]:
    with serve() as site:
        site.route("/papers.txt", Reply(200, PAGE, {"Content-Type": "text/plain"}))
        yield site


def config(folder: Path, site: Site, extra: str = "", mailer: str = "") -> Path:
    path = folder / "newsletter.toml"
    path.write_text(
        f'[newsletter]\ndatabase_url = "sqlite:///news.db"\n'
        f'[[sources]]\nkind = "text"\nurl = "{site.url("/papers.txt")}"\n'
        '[match]\nsemantic = false\n'
        + (mailer or '[mailers.default]\nbackend = "file"\npath = "outbox"\n') + extra
    )
    return path


def newsletter(folder: Path, *args: str, secret: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NEWSLETTER_SECRET_KEY"}
    if secret:
        env["NEWSLETTER_SECRET_KEY"] = "start-checks-secret-0123456789"
    return subprocess.run([sys.executable, "-m", "newsletter", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_run_checks_the_key_and_the_mailer_before_it_fetches(
    tmp_path: Path, source: Site
) -> None:
    config(tmp_path, source)
    done = newsletter(tmp_path, "run", secret=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: environment variable NEWSLETTER_SECRET_KEY is not set")
    remote = '[mailers.default]\nbackend = "smtp"\nhost = "smtp.example.org"\n'
    config(tmp_path, source, mailer=remote)
    done = newsletter(tmp_path, "run")
    assert done.returncode == 2 and "key 'newsletter.base_url' is not set" in done.stderr
    assert source.seen("/papers.txt") == []  # nothing was fetched
    config(tmp_path, source)
    assert newsletter(tmp_path, "run").returncode == 0
    assert len(source.seen("/papers.txt")) == 1


@pytest.mark.slow  # a process per case: about 2 s each
@pytest.mark.parametrize(
    ("extra", "mailer", "said"),
    [
        ("", '[mailers.default]\nbackend = "smtp"\nport = "twenty"\n',
         "key 'mailers.default.port' must be an integer, not 'twenty'"),
        ('[delivery]\nmailer = "defualt"\n', "",
         "key 'delivery.mailer': mailer 'defualt' is not configured (add a [mailers.defualt] "
         "table; configured: default)"),
        ('[schedule]\nfetch_cron = "0 * * *"\n', "",
         "key 'schedule.fetch_cron': '0 * * *' has 4 fields; a crontab line has 5"),
        ('[schedule]\nfetch_cron = "61 * * * *"\n', "",
         "key 'schedule.fetch_cron': '61 * * * *': "),
        ('[schedule]\ntimezone = "Mars/Base"\n', "",
         "key 'schedule.timezone': unknown IANA timezone 'Mars/Base'"),
    ],
)
def test_the_whole_config_is_checked_at_start_up(
    tmp_path: Path, source: Site, extra: str, mailer: str, said: str
) -> None:
    path = config(tmp_path, source, extra, mailer)
    done = newsletter(tmp_path, "fetch")
    assert done.returncode == 2, done.stdout
    assert done.stderr.startswith(f"error: {path}: {said}"), done.stderr
    assert done.stderr.count("\n") == 1
    assert source.seen("/papers.txt") == []
