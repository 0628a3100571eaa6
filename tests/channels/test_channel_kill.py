"""A ``newsletter worker`` killed with SIGKILL while it posts channel rows, then started again:
no channel issue is lost, at most one is posted twice, and the Matrix part that was in flight
is sent again with the same transaction id (so the room shows it once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from newsletter.store import open_engine
from newsletter.store import outbox as store
from tests.channels.conftest import SECRET_KEY, write_project
from tests.channels.fakes import BOT, TOKEN, platforms
from tests.delivery.smtp_sink import Sink

ROOMS = 6  # Matrix channels
HOOKS = 6  # Slack channels (no idempotency: a repeat shows)
LEASE = 3.0


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def statuses(engine: sa.Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(conn.execute(sa.select(store.outbox.c.status)).scalars())


@pytest.mark.slow
@pytest.mark.postgres
def test_a_worker_killed_mid_post_loses_nothing_and_matrix_repeats_its_transaction_id(
        pg_url: str, tmp_path: Path, seeds_dir: Path) -> None:
    seeds = sorted(str(p) for p in seeds_dir.glob("*.txt"))
    with Sink() as sink, platforms() as fakes:
        tables: dict[str, dict[str, str]] = {}
        env = {"LAB_MATRIX_TOKEN": TOKEN, "LAB_TELEGRAM_TOKEN": BOT}
        for i in range(ROOMS):
            tables[f"room{i}"] = {"kind": "matrix", "homeserver": fakes["matrix"].url,
                                  "room": f"!room{i}:example.org",
                                  "token_env": "LAB_MATRIX_TOKEN"}
        for i in range(HOOKS):
            tables[f"hook{i}"] = {"kind": "slack", "url_env": f"LAB_SLACK_{i}"}
            env[f"LAB_SLACK_{i}"] = f"{fakes['slack'].url}/services/T0/B0/slack-secret{i}"
        config = write_project(tmp_path, seeds, sink.port, tables, max_papers=3,
                               extra=f"lease_seconds = {LEASE}\nbatch_size = 4\n")
        env |= {"NEWSLETTER_DATABASE_URL": pg_url, "NEWSLETTER_SECRET_KEY": SECRET_KEY}
        enqueue = subprocess.run([sys.executable, "-m", "newsletter", "--config", str(config),
                                  "run", "--no-send"], env=dict(os.environ, **env),
                                 capture_output=True, timeout=120, check=False)
        assert enqueue.returncode == 0, enqueue.stderr.decode()
        engine = open_engine(pg_url)
        assert statuses(engine) == {"queued": ROOMS + HOOKS + 1}
        fakes["matrix"].hang = 3.0  # the room stores the event, then is slow to answer
        fakes["slack"].hang = 0.2

        def start() -> subprocess.Popen[bytes]:
            cmd = [sys.executable, "-m", "newsletter", "--config", str(config), "worker",
                   "--idle", "0.2"]
            return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=dict(os.environ, **env))

        victim = start()
        wait_for(lambda: fakes["matrix"].keys, 60, "a Matrix post to be under way")
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=10)
        in_flight = list(fakes["matrix"].keys)
        fakes["matrix"].hang = 0.0
        again = start()
        wait_for(lambda: statuses(engine) == {"sent": ROOMS + HOOKS + 1}, 90, "every row sent")
        again.send_signal(signal.SIGTERM)
        _, err = again.communicate(timeout=30)
        assert again.returncode == 0, err.decode()
        with engine.connect() as conn:
            rows = conn.execute(sa.select(store.outbox.c.recipient, store.outbox.c.message_id)
                                ).all()
        engine.dispose()
    assert victim.returncode == -signal.SIGKILL
    assert sink.received and max(sink.received.values()) <= 1
    matrix, slack = fakes["matrix"], fakes["slack"]
    # nothing lost: every room and every Slack channel shows its issue
    rooms = {p["body"].split(" \u2014 ")[0] for p in matrix.posts}
    assert rooms == {f"Papers for Lab room{i} <&>" for i in range(ROOMS)}, rooms
    headings = Counter(p["text"] for p in slack.posts)
    assert {h.split(" \u2014 ")[0] for h in headings} == {
        f"Papers for Lab hook{i} <&>" for i in range(HOOKS)}
    # at most one repeat per kill, and the Matrix one is harmless: same transaction id
    repeats = sum(n - 1 for n in headings.values()) + sum(
        n - 1 for n in Counter(matrix.keys).values())
    assert repeats <= 1, (headings, matrix.keys)
    assert len(in_flight) == 1 and Counter(matrix.keys)[in_flight[0]] == 2, matrix.keys
    assert len(matrix.posts) == len(set(matrix.keys)), "the room shows each event once"
    assert len(rows) == ROOMS + HOOKS + 1
