"""The whole issue at scale on PostgreSQL: N generated subscribers x 1,000 new papers.

Match and enqueue (one process, batches of 500; one render per batch checks the templates),
then the workers render and send to a local SMTP sink in its own process with 1, 2 and 4
``newsletter worker --once`` processes; prints wall time per stage, messages per second, peak
memory, the stored bytes per outbox row before and after sending and the database growth.
Usage: python benchmarks/scale_bench.py [--subscribers 100000] [--papers 1000] [--db URL]
       [--processes N] (enqueue in N processes, each a shard of the subscribers)
       [--overlap] (workers send while the issue is still being enqueued, as in production)
       [--semantic] (semantic matching with MiniLM; readers' topics drawn from tens of
       thousands of distinct phrases; paper embeddings at fetch time, then, for day one
       (phrase embeddings cold) and day two (cached), the run's embedding ahead in a process of
       its own and the enqueue, each timed with its memory; nothing is sent)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from newsletter.app.enqueue import EnqueueReport, enqueue_all, enqueue_due
from newsletter.app.stages import Stages
from newsletter.app.vectors import embed_ahead
from newsletter.config import Config, MatchSettings, config_from_dict
from newsletter.match import Matcher, MemoryCache
from newsletter.match.semantic import embed_papers
from newsletter.models import Issue, IssueLinks, Paper
from newsletter.render import RenderedEmail, Renderer
from newsletter.store import open_engine
from newsletter.store.embeddings import StoreCache
from newsletter.store.outbox import outbox
from newsletter.store.papers import upsert_papers
from newsletter.store.profiles import iter_active
from newsletter.store.tables import subscribers

NOW = datetime(2026, 3, 4, 22, 30, tzinfo=UTC)
SECRET = "bench-secret-key-0123456789abcdef"  # the workers sign each issue's links
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "America/Los_Angeles"]
WORDS_TEXT = (
    "graph neural network diffusion model language agent reasoning retrieval protein "
    "folding speech vision transformer sparse attention robot policy reinforcement quantum "
    "circuit galaxy survey climate forecast causal inference privacy federated kernel bound "
    "optimizer scaling law benchmark segmentation tracking molecule design theorem proof"
)
WORDS = WORDS_TEXT.split()
# A research vocabulary for semantic runs: phrases of one to three of these terms.
TERMS = (
    "graph neural network, diffusion model, language model, reasoning, retrieval, protein "
    "folding, speech recognition, vision transformer, sparse attention, robot policy, "
    "reinforcement learning, quantum circuit, galaxy survey, climate forecast, causal "
    "inference, differential privacy, federated learning, kernel method, generalization bound, "
    "optimizer, scaling law, benchmark, semantic segmentation, object tracking, molecule "
    "design, theorem proving, spiking neural network, neuromorphic hardware, point cloud, "
    "neural radiance field, video generation, text to image, code generation, tool use, "
    "agent, planning, world model, contrastive learning, self-supervised learning, "
    "knowledge distillation, quantization, pruning, mixture of experts, long context, "
    "in-context learning, chain of thought, instruction tuning, preference optimization, "
    "reward model, hallucination, interpretability, mechanistic interpretability, "
    "adversarial robustness, out-of-distribution detection, uncertainty estimation, "
    "bayesian inference, gaussian process, variational inference, normalizing flow, "
    "time series, anomaly detection, recommender system, information retrieval, question "
    "answering, summarization, machine translation, low-resource languages, multilingual, "
    "speech synthesis, music generation, audio, medical imaging, radiology report, "
    "drug discovery, single-cell, genomics, materials science, weather prediction, "
    "remote sensing, autonomous driving, motion planning, manipulation, legged locomotion, "
    "simulation, sim-to-real, embodied AI, 3D reconstruction, depth estimation, optical "
    "flow, image restoration, super-resolution, compression, federated optimization, "
    "privacy attacks, membership inference, watermarking, fairness, ethics, human feedback, "
    "human-computer interaction, education, evaluation, dataset, data curation, synthetic "
    "data, tokenization, efficient inference, hardware accelerators, compilers, distributed "
    "training, memory efficiency, state space model, recurrent network, attention mechanism, "
    "positional encoding, graph transformer, knowledge graph, symbolic reasoning, program "
    "synthesis, formal verification, mathematics, physics-informed learning, fluid dynamics, "
    "epidemiology, economics, social networks, misinformation, vision-language model, "
    "visual question answering, document understanding, table reasoning, OCR, video "
    "understanding, action recognition, pose estimation, face recognition, gaze, emotion"
)
VOCAB = [t.strip() for t in TERMS.split(",")]
TIMES: dict[str, float] = {"match": 0.0, "render": 0.0}
WORKER_RSS: list[float] = [0.0]


class TimedMatcher(Matcher):
    def match_many(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return super().match_many(*args, **kwargs)
        finally:
            TIMES["match"] += time.perf_counter() - start


class TimedRenderer(Renderer):
    def render(self, issue: Issue, links: IssueLinks) -> RenderedEmail | None:
        start = time.perf_counter()
        try:
            return super().render(issue, links)
        finally:
            TIMES["render"] += time.perf_counter() - start


def make_papers(n: int, rng: random.Random) -> list[Paper]:
    words_of = VOCAB if PHRASES else WORDS

    def words(k: int) -> str:
        return " ".join(rng.choices(words_of, k=k))

    return [
        Paper(
            title=words(rng.randint(5, 12)).capitalize(),
            abstract=". ".join(words(15).capitalize() for _ in range(6)) + ".",
            arxiv_id=f"2603.{10000 + i}",
            authors=tuple(f"Author {rng.randint(1, 3000)}" for _ in range(rng.randint(1, 8))),
            published=date(2026, 3, 4),
            upvotes=rng.randint(0, 150),
        )
        for i in range(n)
    ]


def phrase_pool(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct topic phrases of one to three vocabulary terms ("graph neural network
    for drug discovery", "speech recognition", ...)."""
    joins = (" ", " for ", " in ", " and ")
    pool: dict[str, None] = dict.fromkeys(VOCAB)
    while len(pool) < n:
        terms = rng.sample(VOCAB, rng.choice((2, 2, 3)))
        pool[rng.choice(joins).join(terms)] = None
    return list(pool)[:n]


PHRASES: list[str] = []  # set by --semantic: readers' topics come from here (Zipf-like)


def topics_of(rng: random.Random) -> list[str]:
    if not PHRASES:
        return [" ".join(rng.sample(WORDS, rng.randint(1, 2))) for _ in range(rng.randint(1, 5))]
    k = rng.randint(1, 5)
    # a few phrases are popular, most are rare: index ~ n * u^3
    return [PHRASES[int(len(PHRASES) * rng.random() ** 3)] for _ in range(k)]


def profile_row(i: int, rng: random.Random) -> dict[str, object]:
    """A stored subscriber with a varied profile, due at ``NOW`` in its own time zone."""
    zone = rng.choice(ZONES)
    local = NOW.astimezone(ZoneInfo(zone))
    weekly = i % 7 == 0
    send_at = dtime(rng.randint(0, local.hour), rng.choice((0, 15, 30)))
    profile = {
        "topics": topics_of(rng),
        "exclude": [rng.choice(WORDS)] if i % 5 == 0 else [],
        "authors": [f"Author {rng.randint(1, 3000)}"] if i % 9 == 0 else [],
        "papers": [],
        "max_papers": rng.randint(3, 10),
        "min_upvotes": rng.choice((0, 0, 0, 5, 20)),
        "timezone": zone,
        "send_at": send_at.strftime("%H:%M"),
        "frequency": "weekly" if weekly else "daily",
        "weekday": local.weekday(),
        "active": True,
    }
    return {
        "email": f"reader{i:06d}@example.org",
        "name": f"Reader {i}",
        "profile": profile,
        "status": "active",
        "origin": "web",
        "created_at": NOW,
        "updated_at": NOW,
    }


def fill(engine: sa.Engine, n_subs: int, papers: Sequence[Paper]) -> None:
    rng = random.Random(42)
    with engine.begin() as conn:
        upsert_papers(conn, papers, "bench", NOW)
        for start in range(0, n_subs, 5000):
            rows = [profile_row(i, rng) for i in range(start, min(n_subs, start + 5000))]
            conn.execute(sa.insert(subscribers), rows)


def rss_mb(status_file: str = "/proc/self/status") -> float:
    try:
        with open(status_file, encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # the process just ended
        pass
    return 0.0


def bench_config(folder: Path, url: str, port: int) -> tuple[Config, Path]:
    data = {
        "newsletter": {
            "database_url": url,
            "sender": "Digest <digest@bench.example.org>",
            "base_url": "https://bench.example.org",
        },
        "match": {"semantic": bool(PHRASES)},
        "delivery": {"batch_size": 100},
        "mailers": {
            "default": {
                "backend": "smtp",
                "host": "127.0.0.1",
                "port": port,
                "security": "none",
                "timeout": 30,
            }
        },
    }
    path = folder / "newsletter.toml"
    path.write_text(
        f"""[newsletter]
sender = "Digest <digest@bench.example.org>"
base_url = "https://bench.example.org"

[delivery]
batch_size = 100

[mailers.default]
backend = "smtp"
host = "127.0.0.1"
port = {port}
security = "none"
timeout = 30
""",
        encoding="utf-8",
    )
    env = {"NEWSLETTER_SECRET_KEY": SECRET}
    return config_from_dict(data, folder, str(path), env), path


def enqueue_stage(
    config: Config, engine: sa.Engine, papers: Sequence[Paper], n: int, processes: int = 1
) -> None:
    if processes > 1:
        return sharded_enqueue(config, engine, papers, n, processes)
    matcher = TimedMatcher(MatchSettings(semantic=False), None, MemoryCache())
    base = Stages.build(config, engine, matcher)
    renderer = TimedRenderer(config.newsletter, config.email, config.path("templates"))
    stages = Stages(config, engine, matcher, renderer, base.composer)
    marks: list[tuple[int, float]] = []

    def on_batch(report: EnqueueReport) -> None:
        done = report.enqueued + report.quiet + report.already
        if not marks or done - marks[-1][0] >= n // 10:
            marks.append((done, rss_mb()))

    start = time.perf_counter()
    report = enqueue_due(stages, iter_active(engine, 500), NOW, papers, on_batch)
    wall = time.perf_counter() - start
    other = wall - TIMES["match"] - TIMES["render"]
    print(
        f"match + enqueue: {wall:.1f} s wall for {n:,} subscribers "
        f"({n / wall:,.0f} subscribers/s)"
    )
    print(
        f"  match {TIMES['match']:.1f} s, render (one check per batch) {TIMES['render']:.1f} s, "
        f"picks + database {other:.1f} s"
    )
    print(
        f"  enqueued {report.enqueued:,}, nothing matched {report.quiet:,}, "
        f"not due {report.not_due:,}"
    )
    print(
        "  RSS while streaming (subscribers done: MB): "
        + ", ".join(f"{d:,}: {m:.0f}" for d, m in marks)
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of this process: {peak:.0f} MB")


def sharded_enqueue(
    config: Config, engine: sa.Engine, papers: Sequence[Paper], n: int, processes: int
) -> None:
    """The enqueue stage as ``newsletter run`` does it with ``schedule.enqueue_processes``."""
    start = time.perf_counter()
    report = enqueue_all(Stages.build(config, engine), NOW, processes, papers)
    wall = time.perf_counter() - start
    print(
        f"match + enqueue in {processes} processes: {wall:.1f} s wall for {n:,} "
        f"subscribers ({n / wall:,.0f} subscribers/s)"
    )
    print(f"  enqueued {report.enqueued:,}, nothing matched {report.quiet:,}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  peak RSS of one enqueue process: {peak:.0f} MB")


def sink_main(port: int) -> None:
    """A lean SMTP sink (own process): accepts everything, counts messages, prints on SIGTERM."""
    from aiosmtpd.controller import Controller

    class Count:
        n = 0

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            Count.n += 1
            return "250 2.0.0 Ok"

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # sigwait needs it blocked
    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    signal.sigwait({signal.SIGTERM})
    controller.stop()
    print(Count.n, flush=True)


SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


def start_sink(port: int, folder: Path) -> subprocess.Popen[str]:
    """Postfix's smtp-sink (C, the mail server's own test sink) where installed, as the
    receiving MTA; else the aiosmtpd sink above, which is slower than the senders."""
    if os.access(SMTP_SINK, os.X_OK):
        print("sink: Postfix smtp-sink")
        cmd = [SMTP_SINK, "-c", "-u", "nobody", f"127.0.0.1:{port}", "256"]
        with (folder / "sink.out").open("w") as out:  # the child keeps its own descriptor
            sink = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
        time.sleep(0.5)
        return sink
    print("sink: aiosmtpd (install postfix for smtp-sink, a faster sink)")
    sink = subprocess.Popen(
        [sys.executable, __file__, "--sink", str(port)], stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    return sink


def stop_sink(sink: subprocess.Popen[str], folder: Path) -> int:
    """Stop the sink; how many messages it received."""
    sink.send_signal(signal.SIGTERM)
    if sink.stdout is not None:
        return int(sink.communicate()[0].strip())
    sink.wait()
    counts = re.findall(r"mesg=(\d+)", (folder / "sink.out").read_text())
    return int(counts[-1]) if counts else 0


def start_workers(path: Path, url: str, n: int, *, once: bool = True) -> list[subprocess.Popen]:
    """``n`` worker processes; ``once``: each exits when nothing is due."""
    env = dict(os.environ, NEWSLETTER_DATABASE_URL=url, NEWSLETTER_SECRET_KEY=SECRET)
    cmd = [sys.executable, "-m", "newsletter", "--config", str(path), "worker"]
    cmd += ["--once"] if once else ["--idle", "0.5"]
    return [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL) for _ in range(n)]


def sample_rss(procs: Sequence[subprocess.Popen]) -> None:
    for proc in procs:
        WORKER_RSS.append(rss_mb(f"/proc/{proc.pid}/status"))


def run_workers(path: Path, url: str, n: int) -> float:
    """Run ``n`` workers until the outbox is empty; their peak RSS is sampled into WORKER_RSS."""
    start = time.perf_counter()
    procs = start_workers(path, url, n)
    while any(proc.poll() is None for proc in procs):
        sample_rss(procs)
        time.sleep(0.5)
    return time.perf_counter() - start


def unsent(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        pending = outbox.c.status.in_(("queued", "retrying", "sending"))
        return conn.execute(sa.select(sa.func.count()).where(pending)).scalar() or 0


def overlapped(config: Config, engine: sa.Engine, papers: Sequence[Paper], n: int,
               path: Path, url: str, workers: int, processes: int) -> float:
    """As in production: workers send while the scheduler is still enqueueing."""
    procs = start_workers(path, url, workers, once=False)
    start = time.perf_counter()
    enqueue_stage(config, engine, papers, n, processes)
    enqueued = time.perf_counter() - start
    while unsent(engine):
        sample_rss(procs)
        time.sleep(0.5)
    whole = time.perf_counter() - start
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait()
    print(
        f"overlapped, {workers} workers sending from the start: enqueue done after "
        f"{enqueued:.1f} s, last message sent after {whole:.1f} s ({n / whole:,.0f} msgs/s)"
    )
    return whole


def requeue(engine: sa.Engine, count: int) -> None:
    with engine.begin() as conn:
        ids = sa.select(outbox.c.id).order_by(outbox.c.id).limit(count).scalar_subquery()
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(
                status="queued", attempts=0, lease_owner=None, lease_until=None, next_attempt_at=NOW
            )
        )


TABLES = ("outbox", "outbox_issues", "sent_papers", "template_versions")  # what an issue writes


def storage(engine: sa.Engine, label: str, baseline: int = 0) -> int:
    """Print the stored bytes per outbox row and what the issue's tables hold on disk."""
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT avg(pg_column_size(o.*) + coalesce(pg_column_size(i.*), 0)) FROM outbox o "
            "LEFT JOIN outbox_issues i ON i.row_id = o.id").scalar()
        total = sum(
            conn.exec_driver_sql(f"SELECT pg_total_relation_size('{t}')").scalar() or 0
            for t in TABLES
        )
        stages = conn.exec_driver_sql(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND (c.relname IN "
            "(SELECT indexname FROM pg_indexes WHERE tablename IN ('outbox', 'outbox_issues') "
            "AND schemaname = current_schema()) OR c.relname IN ('outbox', 'outbox_issues')) "
            "ORDER BY 2 DESC").all()
    grown = f", {(total - baseline) / 2**20:,.0f} MB more than before the issue" if baseline else ""
    print(f"{label}: {float(row or 0):,.0f} bytes per outbox row with its snapshot; "
          f"{', '.join(TABLES)} hold {total / 2**20:,.0f} MB{grown}")
    print("  outbox and outbox_issues heaps and indexes (MB): "
          + ", ".join(f"{name} {size / 2**20:,.1f}" for name, size in stages))
    return int(total)


def compact(engine: sa.Engine) -> None:
    """Rewrite the issue's tables without the dead row versions that each status change left
    (in service, autovacuum makes their space reusable for the next issue)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM FULL {', '.join(TABLES)}")


def send_stage(
    engine: sa.Engine, url: str, path: Path, workers: list[int], sample: int, whole: bool = True
) -> float:
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar() or 0
    print(f"send: {total:,} issues, rendered by the workers as they send them")
    first = 0.0
    if whole:
        first = run_workers(path, url, max(workers))
        print(f"  whole issue, {max(workers)} workers: {first:.1f} s, {total / first:,.0f} msgs/s")
    for n in workers:
        requeue(engine, sample)
        wall = run_workers(path, url, n)
        print(
            f"  {sample:,} messages again with {n} worker(s): {wall:.1f} s, "
            f"{sample / wall:,.0f} msgs/s"
        )
    print(f"  peak RSS of one worker process (sampled every 0.5 s): {max(WORKER_RSS):.0f} MB")
    return first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscribers", type=int, default=100_000)
    ap.add_argument("--papers", type=int, default=1000)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--sample", type=int, default=10_000, help="messages per scaling run")
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--processes", type=int, default=1, help="enqueue processes (shards)")
    ap.add_argument("--overlap", action="store_true",
                    help="start the workers with the enqueue, as a running service does")
    ap.add_argument("--semantic", action="store_true",
                    help="semantic matching, two days, no sending (see the top of this file)")
    ap.add_argument("--phrases", type=int, default=40_000,
                    help="distinct topic phrases readers draw from (--semantic)")
    ap.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.sink:
        return sink_main(args.sink)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.db.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        run(args, f"{args.db}?options=-csearch_path%3D{schema}")
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


class ChildrenRss:
    """Samples the RSS of this process's children every 0.2 s while in the ``with`` block."""

    def __enter__(self) -> ChildrenRss:
        self.peak, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = str(os.getpid())
        while not self._stop.wait(0.2):
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    text = status.read_text()
                except OSError:
                    continue
                if re.search(rf"^PPid:\s+{me}$", text, re.M):
                    self.peak = max(self.peak, rss_mb(str(status)))


def semantic_run(args: argparse.Namespace, url: str) -> None:
    """Semantic matching at scale: paper embeddings at fetch time, then two days' enqueues."""
    PHRASES[:] = phrase_pool(args.phrases, random.Random(7))
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; semantic matching "
          f"(all-MiniLM-L6-v2), topics drawn from {len(PHRASES):,} phrases")
    engine = open_engine(url)
    papers = make_papers(args.papers, random.Random(1))
    fill(engine, args.subscribers, papers)
    with engine.connect() as conn:
        profiles = conn.execute(sa.select(subscribers.c.profile)).scalars()
        distinct = len({t for p in profiles for t in p["topics"]})
    print(f"setup: {args.subscribers:,} subscribers with {distinct:,} distinct topic phrases, "
          f"{len(papers):,} papers")
    with tempfile.TemporaryDirectory() as tmp:
        config, _ = bench_config(Path(tmp), url, 25)
        stages = Stages.build(config, engine)
        assert stages.matcher.embedder is not None, "semantic runs need the semantic extra"
        spawn = multiprocessing.get_context("spawn")
        for day, (label, now) in enumerate((("day one, phrase embeddings cold", NOW),
                                            ("day two, phrase embeddings cached",
                                             NOW + timedelta(days=1)))):
            with ProcessPoolExecutor(1, mp_context=spawn) as one:
                ahead = one.submit(embed_step, config, papers, now, day == 0).result()
            if day == 0:
                print(f"paper embeddings at fetch time: {len(papers):,} papers in "
                      f"{ahead['papers']:.1f} s (model load included)")
            print(f"{label}: embedding ahead of the enqueue (the run's own process) "
                  f"{ahead['phrases']:,} new texts in {ahead['seconds']:.1f} s; peak RSS of that "
                  f"process {ahead['rss']:.0f} MB")
            start = time.perf_counter()
            with ChildrenRss() as rss:
                report = enqueue_all(stages, now, args.processes, papers)
            wall = time.perf_counter() - start
            print(f"  match + enqueue in {args.processes} processes {wall:.1f} s for "
                  f"{args.subscribers:,} subscribers ({args.subscribers / wall:,.0f}/s); "
                  f"{report.enqueued:,} enqueued, {report.quiet:,} with nothing matched; "
                  f"peak RSS of one enqueue process {rss.peak:.0f} MB")
    engine.dispose()


def embed_step(config: Config, papers: list[Paper], now: datetime, fetch: bool) -> dict[str, float]:
    """In a process of its own (so its memory is its own): the paper vectors a fetch computes
    (when ``fetch``), then what a run embeds ahead of its enqueue."""
    engine = open_engine(config.database_url, upgrade=False)
    try:
        stages = Stages.build(config, engine)
        assert stages.matcher.embedder is not None
        start = time.perf_counter()
        if fetch:
            embed_papers(stages.matcher.embedder, papers, StoreCache(engine))
        middle = time.perf_counter()
        new = embed_ahead(stages, now, iter_active(engine), papers)
        return {"papers": middle - start, "phrases": new, "seconds": time.perf_counter() - middle,
                "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    finally:
        engine.dispose()


def run(args: argparse.Namespace, url: str) -> None:
    if args.semantic:
        return semantic_run(args, url)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; lexical matching")
    engine = open_engine(url)
    papers = make_papers(args.papers, random.Random(1))
    start = time.perf_counter()
    fill(engine, args.subscribers, papers)
    print(
        f"setup: {args.subscribers:,} subscribers + {len(papers):,} papers stored in "
        f"{time.perf_counter() - start:.1f} s (not part of the issue)"
    )
    port = random.randint(20000, 40000)
    with tempfile.TemporaryDirectory() as tmp:
        sink = start_sink(port, Path(tmp))
        config, path = bench_config(Path(tmp), url, port)
        workers = [int(w) for w in args.workers.split(",")]
        baseline = storage(engine, "before the issue")
        if args.overlap:
            whole = overlapped(
                config, engine, papers, args.subscribers, path, url, max(workers), args.processes
            )
            send_stage(engine, url, path, workers, args.sample, whole=False)
        else:
            start = time.perf_counter()
            enqueue_stage(config, engine, papers, args.subscribers, args.processes)
            whole = time.perf_counter() - start
            storage(engine, "after the enqueue, before sending", baseline)
            whole += send_stage(engine, url, path, workers, args.sample)
        storage(engine, "after sending", baseline)
        compact(engine)
        storage(engine, "after VACUUM FULL (what stays once old row versions are reused)",
                baseline)
        print(f"sink received {stop_sink(sink, Path(tmp))} messages in all")
        how = "workers sending during the enqueue" if args.overlap else "one stage after another"
        print(f"whole issue (match, render, enqueue, send; {how}): {whole:.0f} s")
    engine.dispose()


if __name__ == "__main__":
    main()
