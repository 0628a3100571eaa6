"""``newsletter worker`` as a command: --once on SQLite, a refused second worker, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsletter.app.mailers import NO_SECRET
from newsletter.app.worker import SQLITE_LEASE
from newsletter.store import locks, open_engine
from tests.delivery.smtp_sink import Sink

from .conftest import SECRET, fill_issue_outbox, fill_outbox, statuses, write_config


def worker(config: Path, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "newsletter", "--config", str(config), "worker", *args]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, NEWSLETTER_SECRET_KEY=SECRET),
    )


@pytest.mark.slow
def test_once_sends_everything_and_reports(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    ids = fill_outbox(engine, 60)
    with Sink() as sink:
        out, err = worker(
            write_config(tmp_path, sink.port), "--once", "--concurrency", "2"
        ).communicate(timeout=60)
        received = dict(sink.received)
    assert out.strip() == "sent 60, retrying 0, failed 0 (0 bounced), suppressed 0", err
    assert "2 send loop(s) on SQLite" in err
    assert set(received) == ids and statuses(engine) == {"sent": 60}
    engine.dispose()


def test_a_worker_restarted_on_sqlite_waits_for_the_old_lease_in_one_line(
    tmp_path: Path,
) -> None:
    """What a worker killed with -9 leaves is its lease: the next one waits, then sends."""
    engine = open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    ids = fill_outbox(engine, 2)
    now = datetime.now(UTC)
    locks.acquire(engine, SQLITE_LEASE, "box:42:first", now=now, ttl=timedelta(seconds=2))
    with Sink() as sink:
        proc = worker(write_config(tmp_path, sink.port), "--once")
        out, err = proc.communicate(timeout=60)
        received = dict(sink.received)
    assert proc.returncode == 0, err
    waiting = next(line for line in err.splitlines() if "box:42:first" in line)
    assert "waiting for it" in waiting and "news.db" in waiting
    assert out.startswith("sent 2,") and set(received) == ids
    engine.dispose()


@pytest.mark.slow
def test_sigterm_stops_after_the_batch_in_hand(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    fill_outbox(engine, 3000)
    with Sink(data_delay=0.005) as sink:
        proc = worker(write_config(tmp_path, sink.port, batch_size=20))
        deadline = time.monotonic() + 30
        while sum(sink.received.values()) < 50:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        received = sum(sink.received.values())
    assert proc.returncode == 0, err
    counts = statuses(engine)
    assert "sending" not in counts and counts["sent"] == received < 3000
    assert out.startswith(f"sent {received},")
    engine.dispose()


def test_a_worker_without_the_secret_stops_before_it_starts_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, 9)
    engine = open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    fill_issue_outbox(engine, 1)
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if k != "NEWSLETTER_SECRET_KEY"}
    cmd = [sys.executable, "-m", "newsletter", "--config", str(config), "worker", "--once"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: {NO_SECRET}"]
    assert "Traceback" not in done.stderr
    engine = open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    assert statuses(engine) == {"queued": 1}  # handed back untried, for a worker with the key
    engine.dispose()
