"""``newsletter serve`` as real processes: pages answer, the start-up tick sends, and a second
process on the same database stays idle; SIGTERM stops cleanly and hands the lease back."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from newsletter.app.mailers import NO_SECRET
from newsletter.store import open_engine
from newsletter.store.locks import holder

from .conftest import SECRET, add_papers, add_subscriber

CONFIG = """\
[newsletter]
sender = "Paper Digest <digest@news.example.org>"
base_url = "http://127.0.0.1"
database_url = "sqlite:///news.db"
[match]
semantic = false
[mailers.files]
backend = "file"
path = "sent"
[delivery]
mailer = "files"
[schedule]
fetch_cron = "0 0 1 1 *"
tick_minutes = 1
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(tmp_path: Path, name: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    port, log = free_port(), tmp_path / f"{name}.log"
    env = os.environ | {"NEWSLETTER_SECRET_KEY": SECRET}
    env.pop("NEWSLETTER_DATABASE_URL", None)
    command = [
        sys.executable,
        "-m",
        "newsletter",
        "--config",
        str(tmp_path / "newsletter.toml"),
        "serve",
        "--port",
        str(port),
        "--log-json",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    return proc, port, log


def wait_for(check: object, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).text == "ok\n"
    except httpx.HTTPError:
        return False


def messages(log: Path) -> list[dict[str, str]]:
    lines = log.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def stop(proc: subprocess.Popen[bytes], sig: signal.Signals) -> int:
    proc.send_signal(sig)
    return proc.wait(timeout=30)


@pytest.mark.slow
def test_two_serve_processes_send_each_issue_once(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text(CONFIG, encoding="utf-8")
    engine = open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    add_subscriber(engine, "ada@example.org", "UTC", "00:00")
    add_papers(engine, datetime.now(UTC), "serve")
    first, port1, log1 = start(tmp_path, "first")
    second = None
    try:
        wait_for(lambda: healthy(port1), "the first server")
        wait_for(lambda: len(list((tmp_path / "sent").glob("*.eml"))) == 1, "the first issue")
        second, port2, log2 = start(tmp_path, "second")
        wait_for(lambda: healthy(port2), "the second server")
        wait_for(
            lambda: any("lease is held by" in m["message"] for m in messages(log2)),
            "the second scheduler to stand aside",
        )
        assert "<form" in httpx.get(f"http://127.0.0.1:{port2}/").text
    finally:
        # Ctrl-C for one, a service manager's SIGTERM for the other: both stop cleanly
        codes = [stop(first, signal.SIGINT)] + ([stop(second, signal.SIGTERM)] if second else [])
    assert codes == [0, 0], log1.read_text()
    ticks = [m for m in messages(log1) if m.get("job") == "tick"]
    assert ticks and ticks[0]["message"].startswith("tick: enqueued 1 (caught up 0), sent 1")
    assert len(list((tmp_path / "sent").glob("*.eml"))) == 1
    with engine.connect() as conn:
        lease = holder(conn, "scheduler")
    assert lease is not None and lease.until <= datetime.now(UTC)  # handed back at shutdown
    engine.dispose()


def test_serve_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text(CONFIG, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "newsletter",
            "--config",
            str(tmp_path / "newsletter.toml"),
            "serve",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {NO_SECRET}"
