"""``newsletter worker [--concurrency N] [--once]``: a process that only sends from the outbox.

SIGTERM or Ctrl-C stops it after the batch in hand (each result already recorded); a second
signal stops it at once, and the outbox lease hands its unfinished rows to another worker.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

import click

from newsletter.app.mailers import Mailer, local_trial, require_secret
from newsletter.app.sending import builder, channel_sender
from newsletter.app.worker import Worker, database_kind
from newsletter.cli.common import App, pass_app, sending_mailer


@click.command()
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Send loops in this process, each with its own mailer connection(s).",
)
@click.option("--once", is_flag=True, help="Exit when nothing is due instead of waiting.")
@click.option(
    "--idle",
    "idle_seconds",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds to wait when nothing is due.",
)
@click.option("--mailer", "mailer_name", metavar="NAME", help="Use [mailers.NAME] instead.")
@pass_app
def worker(
    app: App, concurrency: int, once: bool, idle_seconds: float, mailer_name: str | None
) -> int:
    """Send due messages until stopped; run one per machine (or several) on PostgreSQL."""
    config = app.config
    require_secret(config)
    trial = local_trial(config, sending_mailer(config, mailer_name))  # checked before starting
    if trial:
        app.err.print(trial, markup=False)

    def mailers() -> Mailer:
        return sending_mailer(config, mailer_name)

    engine = app.engine
    running = Worker(
        engine, mailers, config.delivery, concurrency=concurrency, idle_seconds=idle_seconds,
        warn=lambda line: app.err.print(line, markup=False),
        build=builder(config, engine), channels=lambda: channel_sender(config),
    )
    where = database_kind(engine)
    app.err.print(
        f"worker {running.owner}: {concurrency} send loop(s) on {where}; "
        f"{'until nothing is due' if once else 'SIGTERM or Ctrl-C stops'}",
        markup=False,
    )
    previous = _install_stop(running.stop, lambda: running.stopping)
    try:
        totals = running.run(once=once, progress=lambda r: app.err.print(r.describe()))
    finally:
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)
    app.console.print(totals.describe(), markup=False)
    for error in totals.errors[:20]:
        app.err.print(f"failed: {error}", markup=False)
    return 1 if totals.failed else 0



Handler = Callable[[int, FrameType | None], object] | int | None


def _install_stop(stop: Callable[[], None], stopping: Callable[[], bool]) -> dict[int, Handler]:
    """First SIGTERM/SIGINT: stop after the batch in hand; a second one: stop now."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stopping():
            raise SystemExit(128 + signum)
        stop()

    previous: dict[int, Handler] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, handle)
    return previous


commands = [worker]
