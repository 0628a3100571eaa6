"""Crash safety: ``newsletter send`` killed with SIGKILL at random moments, then run again.

Every message must reach the server, and none twice except at most one per kill (the one
whose SMTP transaction was under way), counted by Message-ID at an aiosmtpd sink.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from newsletter.store import open_engine
from newsletter.store import outbox as store

from .conftest import NOW, sample
from .smtp_sink import Sink

MESSAGES = 200
MAX_KILLS = 14


def _config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "newsletter.toml"
    path.write_text(f"""
[newsletter]
database_url = "sqlite:///news.db"
base_url = "https://news.example.org"
sender = "Paper Digest <digest@news.example.org>"

[delivery]
batch_size = 5
lease_seconds = 0.5

[mailers.default]
backend = "smtp"
host = "127.0.0.1"
port = {port}
security = "none"
timeout = 5
""", encoding="utf-8")
    return path


def _enqueue(db: str) -> set[str]:
    engine = open_engine(db)
    ids = set()
    with engine.begin() as conn:
        for i in range(MESSAGES):
            email = sample(i)
            store.enqueue(conn, email, issue_id="2026-01-05", now=NOW)
            ids.add(email.message_id)
    engine.dispose()
    return ids


def _run(config: Path, sink: Sink, kill_at: float | None, rng: random.Random) -> bool:
    """One ``newsletter send``; True when it was killed before it finished.

    ``kill_at`` None: let it finish. Otherwise the kill lands ``kill_at`` seconds after start,
    or, when ``kill_at`` is negative, at a random moment shortly after sending has begun.
    """
    cmd = [sys.executable, "-m", "newsletter", "--config", str(config), "send"]
    before = sum(sink.received.values())
    env = dict(os.environ) | {"NEWSLETTER_SECRET_KEY": "crash-test-secret-0123456789"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        if kill_at is not None and kill_at < 0:
            while proc.poll() is None and sum(sink.received.values()) == before:
                time.sleep(0.005)
            kill_at = rng.uniform(0.0, 0.3)
        proc.wait(timeout=kill_at)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True
    finally:
        assert proc.stderr is not None
        errors = proc.stderr.read().decode()
        proc.stderr.close()
    assert proc.returncode == 0, errors
    return False


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing_and_repeats_at_most_one_per_kill(
    tmp_path: Path,
) -> None:
    rng = random.Random(20260105)
    with Sink(data_delay=0.01) as sink:
        config = _config(tmp_path, sink.port)
        ids = _enqueue(f"sqlite:///{tmp_path / 'news.db'}")
        kills = mid_send = 0
        for n in range(MAX_KILLS):
            before = sum(sink.received.values())
            # most kills land while messages flow; every fourth at any moment, start-up included
            when = rng.uniform(0.0, 1.5) if n % 4 == 3 else -1.0
            if not _run(config, sink, when, rng):
                break
            kills += 1
            mid_send += before < sum(sink.received.values()) < MESSAGES
            time.sleep(0.5)  # let the dead run's lease run out
        _run(config, sink, None, rng)
        received = dict(sink.received)
    assert set(received) == ids, "a message was lost"
    duplicates = sum(received.values()) - len(ids)
    assert duplicates <= kills, f"{duplicates} duplicates after {kills} kills"
    assert mid_send >= 3, f"only {mid_send} kills landed while sending; the test proved little"
    engine = open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    with engine.connect() as conn:
        states = conn.execute(sa.select(store.outbox.c.status).distinct()).scalars().all()
    engine.dispose()
    assert states == ["sent"]
