"""Messages per second from the SMTP mailer to a local aiosmtpd sink, against Postfix smtp-source.

Usage: python benchmarks/smtp_bench.py [--messages 2000] [--connections 4] [--size 20000]

The sink runs in its own process so the sender and the server do not share one interpreter.
Rows: Postfix ``smtp-source -d`` (reused connections) with 1 and N sessions, the bare
``smtp`` mailer with 1 and N connections, and the whole outbox path (SQLite claim, send,
record each result) with 1 and N connections.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

SENDER = "Paper Digest <digest@news.example.org>"


def serve_sink(port: int, log: Path | None = None) -> None:
    """A minimal sink: accept every message, keep nothing (but each recipient, one a line in
    ``log``, when given)."""
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            if log is not None:
                with log.open("a", encoding="utf-8") as out:
                    out.writelines(f"{rcpt}\n" for rcpt in envelope.rcpt_tos)  # type: ignore[attr-defined]
            return "250 2.0.0 Ok: queued"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sink() -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--sink", str(port)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit("the sink did not start")
    return proc, port


def smtp_source(port: int, count: int, sessions: int, size: int) -> float | None:
    tool = shutil.which("smtp-source") or ("/usr/sbin/smtp-source"
                                           if Path("/usr/sbin/smtp-source").exists() else None)
    if tool is None:
        return None
    cmd = [tool, "-d", "-s", str(sessions), "-m", str(count), "-l", str(size),
           "-f", "digest@news.example.org", "-t", "reader@example.com", f"127.0.0.1:{port}"]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return count / (time.perf_counter() - started)


def messages(count: int, size: int) -> list:  # type: ignore[type-arg]
    from newsletter.delivery.message import make_message_id, render
    from newsletter.models import OutgoingEmail

    text = ("A paper about spiking neural networks and brain decoding. " * (size // 120 + 1))
    html = f"<html><body><p>{text[: size // 2]}</p></body></html>"
    return [render(OutgoingEmail(make_message_id(SENDER), SENDER, f"reader{i}@example.com",
                                 f"Your papers ({i})", text[: size // 2], html))
            for i in range(count)]


def mailer(port: int, connections: int):  # type: ignore[no-untyped-def]
    from newsletter.config import MailerSettings, Secrets
    from newsletter.delivery.base import MailerEnv, create_mailer

    options = {"host": "127.0.0.1", "port": port, "security": "none",
               "connections": connections}
    return create_mailer("bench", MailerSettings("smtp", options),
                         MailerEnv(Secrets({}), Path(".")))


def bare_mailer(port: int, batch: list, connections: int) -> float:  # type: ignore[type-arg]
    with mailer(port, connections) as m:
        started = time.perf_counter()
        results = m.send_messages(batch)
        elapsed = time.perf_counter() - started
    assert all(r.status == "sent" for r in results)
    return len(batch) / elapsed


def outbox_path(port: int, batch: list, connections: int) -> float:  # type: ignore[type-arg]
    from newsletter.config import DeliverySettings
    from newsletter.delivery.outbox import send_due
    from newsletter.store import open_engine
    from newsletter.store.outbox import enqueue

    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{folder}/bench.db")
        now = datetime.now(UTC)
        with engine.begin() as conn:
            for email in batch:
                enqueue(conn, email, issue_id="bench", now=now)
        started = time.perf_counter()
        report = send_due(engine, mailer(port, connections), DeliverySettings(batch_size=200))
        elapsed = time.perf_counter() - started
        engine.dispose()
    assert report.sent == len(batch)
    return len(batch) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--size", type=int, default=20000, help="bytes of body per message")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        serve_sink(args.sink)
        return
    batch = messages(args.messages, args.size)
    proc, port = start_sink()
    try:
        rows = []
        for n in (1, args.connections):
            reference = smtp_source(port, args.messages, n, args.size)
            rows.append(("postfix smtp-source -d", n, reference, reference))
            rows.append(("smtp mailer", n, bare_mailer(port, batch, n), reference))
            rows.append(("outbox + smtp mailer", n, outbox_path(port, batch, n), reference))
    finally:
        proc.terminate()
        proc.wait()
    report(rows, args)


def report(rows: list, args: argparse.Namespace) -> None:  # type: ignore[type-arg]
    print(f"{args.messages} messages, ~{args.size} bytes of body, sink: aiosmtpd (own process)")
    print(f"{'sender':<26}{'conns':>6}{'msgs/s':>10}{'vs smtp-source':>16}")
    for name, n, rate, reference in rows:
        ratio = f"{rate / reference:.0%}" if reference else "n/a"
        print(f"{name:<26}{n:>6}{rate:>10.0f}{ratio:>16}")


if __name__ == "__main__":
    main()
