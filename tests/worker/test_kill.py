"""Four ``newsletter worker`` processes share a PostgreSQL outbox of 20,000 messages (or of
3,000 issue rows that the workers render as they send them); one is killed with SIGKILL
mid-run. Every message must arrive, and none twice except at most the one the killed worker
had in flight; its other claimed rows are taken over when their lease ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from newsletter.store import open_engine
from newsletter.store import outbox as store
from tests.delivery.smtp_sink import Sink

from .conftest import SECRET, fill_issue_outbox, fill_outbox, statuses, write_config

WORKERS = 4
LEASE = 5.0  # seconds before a dead worker's rows are taken over


def start_worker(config: Path, url: str, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "newsletter",
        "--config",
        str(config),
        "worker",
        "--idle",
        "0.2",
        *extra,
    ]
    env = dict(os.environ, NEWSLETTER_DATABASE_URL=url, NEWSLETTER_SECRET_KEY=SECRET)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def held_by(engine: sa.Engine, pid: int) -> list[int]:
    """Ids of the rows a worker process holds right now (its pid is part of the lease owner)."""
    out = store.outbox
    query = sa.select(out.c.id).where(
        out.c.status == "sending", out.c.lease_owner.like(f"%:{pid}:%")
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    """Stop a worker with SIGTERM (graceful) and collect its exit status and output."""
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize(("fill", "MESSAGES"), [(fill_outbox, 20_000),
                                                (fill_issue_outbox, 3_000)],
                         ids=["stored messages", "issues rendered at send"])
def test_four_workers_one_killed_every_message_arrives_at_most_one_twice(
    pg_url: str, tmp_path: Path, fill: Callable[[sa.Engine, int], set[str]], MESSAGES: int
) -> None:
    engine = open_engine(pg_url)
    ids = fill(engine, MESSAGES)
    with Sink() as sink:
        config = write_config(tmp_path, sink.port, batch_size=50, lease=LEASE)
        procs = [start_worker(config, pg_url) for _ in range(WORKERS)]
        victim = procs[0]
        wait_for(lambda: sum(sink.received.values()) >= MESSAGES // 5, 90, "sending to start")
        wait_for(lambda: held_by(engine, victim.pid), 10, "the victim to hold a batch")
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=10)  # reaps it and closes its pipes
        orphaned = held_by(engine, victim.pid)
        wait_for(lambda: statuses(engine) == {"sent": MESSAGES}, 110, "every row to be sent")
        results = [finish(p) for p in procs[1:]]
        received = dict(sink.received)
    assert victim.returncode == -signal.SIGKILL
    assert orphaned, "the kill landed between batches; nothing was left to take over"
    for code, out, err in results:
        assert code == 0, err
        assert out.startswith("sent ")
    assert set(received) == ids, f"{len(ids - set(received))} messages lost"
    duplicates = sum(received.values()) - len(ids)
    assert duplicates <= 1, f"{duplicates} messages arrived twice after one kill"
    out = store.outbox
    with engine.connect() as conn:
        retaken = conn.execute(sa.select(out.c.attempts).where(out.c.id.in_(orphaned)))
        attempts = list(retaken.scalars())
    # A result whose COMMIT had reached the server still lands after the kill: at most one.
    assert sum(n < 2 for n in attempts) <= 1, f"rows not taken over: {attempts}"
    engine.dispose()
