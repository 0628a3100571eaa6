"""Hostile input against a real ``newsletter serve``, on SQLite and (when
NEWSLETTER_TEST_DATABASE_URL is set) on PostgreSQL in a schema of its own.

Usage: python benchmarks/hostile_bench.py [--signups 20] [--rounds 3] [--slow 40]
       [--workers 4] [--db sqlite|postgresql|both]

For each database: a config folder from ``newsletter init`` (its newsletter.toml rewritten for
loopback: no sources, words-only matching, an SMTP mailer to an aiosmtpd sink in a process of
its own), ``newsletter serve --no-scheduler`` in a subprocess on a free loopback port, then,
while a thread asks ``/healthz`` every 50 ms: long-word BibTeX pastes (30 KB to 500 KB, as a
field and as an uploaded file), CSL-JSON nested 5,000 and 100,000 deep, unbalanced braces, a
body that is not UTF-8, oversized bodies (600 KB, 10 MB), silent and slow-header connections
(one byte a second) and valid sign-ups interleaved. Then ``newsletter send`` hands over what is
still due and the sink is read.

Printed per database: requests sent (each post after a GET of the sign-up page, and the slow
connections) and the posts' statuses by case, the 5xx count (target 0), the longest
``/healthz`` answer while the hostile requests ran (target under 0.5 s; also as a ratio to the
median of the quiet polls before them, measured in the same run), slow connections the server
closed (and after how long), and messages lost: valid sign-ups whose confirmation never
reached the sink (target 0).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SECRET = "hostile-bench-secret-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from smtp_bench import free_port, serve_sink  # noqa: E402  (a sink that logs recipients)

from tests.conftest import postgres_schema  # noqa: E402

CONFIG = """[newsletter]
name = "Hostile Bench"
sender = "Hostile Bench <digest@bench.example.org>"
base_url = "http://127.0.0.1:{port}"
postal_address = "Hostile Bench, 1 Loopback Street"
database_url = "sqlite:///newsletter.db"
subscribers_dir = "subscribers"
templates_dir = "templates"

[match]
semantic = false

[mailers.sink]
backend = "smtp"
host = "127.0.0.1"
port = {smtp}
security = "none"
timeout = 10

[delivery]
mailer = "sink"

[web]
host = "127.0.0.1"
port = {port}
signups_per_client_hour = 100000
signups_per_address_day = 100
"""


# --- one database's run ----------------------------------------------------------------------

@dataclass
class Tally:
    """What the hostile phase saw."""

    statuses: Counter[str] = field(default_factory=Counter)
    signups: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, case: str, status: int | str) -> None:
        with self.lock:
            self.statuses[f"{case}:{status}"] += 1

    @property
    def requests(self) -> int:
        """Every request sent: each post follows a GET of the sign-up page."""
        return 2 * sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for k, n in self.statuses.items() if k.rsplit(":", 1)[1].startswith("5"))


class Health:
    """Asks /healthz every 50 ms on a fresh connection; keeps (start, latency) pairs."""

    def __init__(self, port: int) -> None:
        self.port, self.samples, self.failures = port, [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.samples: list[tuple[float, float]]

    def __enter__(self) -> Health:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.monotonic()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("GET", "/healthz")
                ok = conn.getresponse().read() == b"ok\n"
                conn.close()
            except OSError:
                ok = False
            latency = time.monotonic() - start
            if ok:
                self.samples.append((start, latency))
            else:
                self.failures += 1
            self._stop.wait(max(0.0, 0.05 - latency))

    def between(self, start: float, end: float) -> list[float]:
        return [lat for at, lat in self.samples if start <= at <= end]


def post_form(port: int, fields: dict[str, str], *, files: dict | None = None,
              raw: bytes | None = None, content_type: str = "") -> int:
    """A sign-up as a browser sends it: the page (cookie and CSRF field), then the post."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as web:
        page = web.get("/")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        data = {"csrf": token.group(1) if token else "", **fields}
        if raw is not None:
            body = raw.replace(b"CSRF", data["csrf"].encode())
            return web.post("/subscribe", content=body,
                            headers={"Content-Type": content_type}).status_code
        return web.post("/subscribe", data=data, files=files).status_code


def profile(email: str, **extra: str) -> dict[str, str]:
    return {"email": email, "topics": "spiking neural networks", "timezone": "UTC",
            "send_at": "07:00", "frequency": "daily", "weekday": "monday", "max_papers": "5",
            **extra}


def hostile_cases(
    signups: int, rounds: int, run_id: str
) -> list[tuple[str, Callable[[int], int], str]]:
    """(name, request, email of a valid sign-up or "") in the order they are sent: ``rounds``
    times each hostile case, the valid sign-ups spread among them."""
    def word(size: int) -> str:
        return "@article{a, title=" + "a" * size + "}\n@article{b, title={Kept}}\n"

    def form(name: str, **fields: str) -> tuple[str, Callable[[int], int], str]:
        email = f"{name}@bench.example.org"
        return name, lambda port: post_form(port, profile(email, **fields)), ""

    cases: list[tuple[str, Callable[[int], int], str]] = []
    for size in (30_000, 128_000, 500_000):
        cases.append(form(f"bibtex-word-{size // 1000}k", library=word(size)))
        cases.append((f"bibtex-file-{size // 1000}k", lambda port, s=size: post_form(
            port, profile("file@bench.example.org"),
            files={"library_file": ("lib.bib", word(s).encode(), "text/x-bibtex")}), ""))
    cases += [
        form("json-nested-5000", library="[" * 5000),
        form("json-nested-100000", library="[" * 100_000),
        form("bibtex-unbalanced", library="@article{a, title={One}\n@article{b, title={Two}}\n"),
        ("not-utf8", lambda port: post_form(
            port, {}, raw=b"csrf=CSRF&email=x%40bench.example.org&name=caf\xe9\xff",
            content_type="application/x-www-form-urlencoded"), ""),
        ("oversized-600k", lambda port: post_form(port, profile("big@bench.example.org",
                                                                topics="x" * 600_000)), ""),
        ("oversized-10m", lambda port: post_form(
            port, {}, raw=b"csrf=CSRF&topics=" + b"y" * 10_000_000,
            content_type="application/x-www-form-urlencoded"), ""),
    ]
    cases *= rounds
    mixed: list[tuple[str, Callable[[int], int], str]] = []
    for i in range(max(signups, len(cases))):
        if i < len(cases):
            mixed.append(cases[i])
        if i < signups:
            email = f"reader{i}-{run_id}@bench.example.org"
            mixed.append(("signup", lambda port, e=email: post_form(
                port, profile(e, library="2306.17670\n")), email))
    return mixed


def slow_clients(port: int, count: int, seconds: float) -> list[float | None]:
    """Half silent, half sending a request's headers one byte a second; for each, how long
    until the server closed it (None: still open after ``seconds``)."""
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        socks.append(s)
    trickle = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
    closed: list[float | None] = [None] * count
    start = time.monotonic()
    step = 0
    while time.monotonic() - start < seconds and None in closed:
        for i, s in enumerate(socks):
            if closed[i] is not None:
                continue
            try:
                if i % 2 and step < len(trickle):
                    s.send(trickle[step : step + 1])
                if s.recv(1024) == b"":
                    closed[i] = time.monotonic() - start
            except BlockingIOError:
                pass
            except OSError:
                closed[i] = time.monotonic() - start
        step += 1
        time.sleep(1.0)
    for s in socks:
        s.close()
    return closed


@contextmanager
def running(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[None]:
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_healthy(port: int, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"serve did not answer /healthz on port {port} within {seconds:g}s")


@contextmanager
def database(kind: str) -> Iterator[str]:
    """SQLite in the run's folder (""), or a fresh PostgreSQL schema dropped afterwards, the
    way the tests isolate PostgreSQL."""
    if kind == "sqlite":
        yield ""
        return
    with contextmanager(postgres_schema)(os.environ["NEWSLETTER_TEST_DATABASE_URL"]) as url:
        yield url


def run_one(kind: str, args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, database(kind) as url:
        folder = Path(tmp)
        port, smtp = free_port(), free_port()
        env = {**os.environ, "NEWSLETTER_SECRET_KEY": SECRET,
               "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        env.pop("NEWSLETTER_DATABASE_URL", None)
        if url:
            env["NEWSLETTER_DATABASE_URL"] = url
        newsletter = [sys.executable, "-m", "newsletter", "--config",
                      str(folder / "newsletter.toml")]
        subprocess.run([sys.executable, "-m", "newsletter", "init", str(folder)], env=env,
                       check=True, capture_output=True)
        (folder / "subscribers" / "example.toml").unlink(missing_ok=True)
        (folder / "newsletter.toml").write_text(CONFIG.format(port=port, smtp=smtp))
        received = folder / "received.txt"
        received.touch()
        sink = subprocess.Popen([sys.executable, __file__, "--sink", str(smtp), str(received)],
                                stdout=subprocess.PIPE, text=True)
        assert sink.stdout is not None
        if sink.stdout.readline().strip() != "ready":
            raise SystemExit("the SMTP sink did not start")
        tally = Tally()
        try:
            with running([*newsletter, "serve", "--no-scheduler"], env, folder,
                         folder / "serve.log"):
                wait_healthy(port)
                with Health(port) as health:
                    time.sleep(1.0)  # quiet polls: the reference
                    quiet_end = time.monotonic()
                    slow = ThreadPoolExecutor(1).submit(slow_clients, port, args.slow, 20.0)
                    cases = hostile_cases(args.signups, args.rounds, uuid.uuid4().hex[:8])

                    def send(case: tuple[str, Callable[[int], int], str]) -> None:
                        name, request, email = case
                        try:
                            status: int | str = request(port)
                        except Exception as exc:  # a dropped connection counts, as what it is
                            status = type(exc).__name__
                            tally.errors.append(f"{name}: {exc}")
                        tally.add(name, status)
                        if email and status == 200:
                            with tally.lock:
                                tally.signups.append(email)

                    with ThreadPoolExecutor(args.workers) as pool:
                        list(pool.map(send, cases))
                    requests_end = time.monotonic()
                    closed = slow.result()  # the slow connections are hostile requests too
                    hostile_end = time.monotonic()
                quiet = health.between(0, quiet_end)
                during = health.between(quiet_end, hostile_end)
                subprocess.run([*newsletter, "send"], env=env, cwd=folder, capture_output=True)
                time.sleep(1.0)
        finally:
            sink.terminate()
            sink.wait(10)
        arrived = set(received.read_text().split())
        lost = [e for e in tally.signups if e not in arrived]
        done = [c for c in closed if c is not None]
        return {
            "database": kind,
            "requests sent": tally.requests + len(closed),
            "statuses": dict(sorted(tally.statuses.items())),
            "slow or silent connections": len(closed),
            "5xx": tally.server_errors,
            "client errors": tally.errors[:5],
            "healthz polls during hostile requests": len(during),
            "healthz failures": health.failures,
            "longest healthz during hostile requests (s)": round(max(during, default=0.0), 3),
            "longest healthz / quiet median": round(
                max(during, default=0.0) / max(statistics.median(quiet or [1e-3]), 1e-4), 1),
            "hostile phase (s)": round(hostile_end - quiet_end, 1),
            "form posts phase (s)": round(requests_end - quiet_end, 1),
            "slow connections closed by server": f"{len(done)}/{len(closed)}",
            "longest a slow connection stayed open (s)": round(max(done, default=0.0), 1),
            "valid sign-ups": len(tally.signups),
            "confirmations arrived": len(arrived & set(tally.signups)),
            "messages lost": len(lost),
        }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--sink":
        serve_sink(int(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--signups", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="times each hostile post is sent")
    parser.add_argument("--slow", type=int, default=40, help="silent and slow-header sockets")
    parser.add_argument("--workers", type=int, default=4, help="requests in flight at once")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in kinds and not os.environ.get("NEWSLETTER_TEST_DATABASE_URL"):
        print("postgresql: skipped (set NEWSLETTER_TEST_DATABASE_URL)")
        kinds.remove("postgresql")
    for kind in kinds:
        result = run_one(kind, args)
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
