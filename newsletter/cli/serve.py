"""``newsletter serve``: the scheduler and the subscriber web pages in one process.

Logs go to stderr as plain lines, or as JSON lines with ``--log-json`` (or ``web.log_json``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
from datetime import UTC, datetime

import click
import uvicorn

from newsletter.app.accounts import Site
from newsletter.app.mailers import local_trial, require_secret
from newsletter.app.service import Service, build_scheduler
from newsletter.app.stages import Stages
from newsletter.cli.common import App, pass_app, sending_mailer
from newsletter.cli.model import fetch_model_first
from newsletter.web.app import create_app
from newsletter.web.server import server_config

PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the job, when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        job = getattr(record, "job", None)
        if job:
            entry["job"] = job
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(as_json: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(PLAIN))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


class Stopped(Exception):
    """SIGTERM arrived: stop like Ctrl-C does."""


def _stopped(signum: int, frame: object) -> None:
    raise Stopped


@click.command()
@click.option("--host", help="Listen address (default: web.host).")
@click.option("--port", type=int, help="Listen port (default: web.port).")
@click.option("--no-scheduler", is_flag=True, help="Serve the pages only; send nothing.")
@click.option("--log-json", is_flag=True, help="Log JSON lines instead of plain text.")
@pass_app
def serve(app: App, host: str | None, port: int | None, no_scheduler: bool, log_json: bool) -> None:
    """Run the scheduler (fetch on a cron, send due issues) and the subscriber pages."""
    config = app.config
    require_secret(config)
    setup_logging(log_json or config.web.log_json)
    # a bad mailer setting stops the start, not the first tick
    if trial := local_trial(config, sending_mailer(config)):
        app.err.print(trial, markup=False)
    fetch_model_first(app, config, logging.getLogger("newsletter.model").warning)
    stages = Stages.build(config, app.engine)
    service = Service(stages, lambda: sending_mailer(config))
    site = Site(config, app.engine, lambda: sending_mailer(config), stages=stages)
    server = uvicorn.Server(
        server_config(create_app(site), host or config.web.host, port or config.web.port)
    )
    scheduler = None if no_scheduler else build_scheduler(service)
    if scheduler is not None:
        scheduler.start()
    # uvicorn shuts down on SIGINT/SIGTERM, then raises the signal again: turn that into a
    # normal return so the scheduler stops and the lease is handed back.
    signal.signal(signal.SIGTERM, _stopped)
    try:
        with contextlib.suppress(KeyboardInterrupt, Stopped):
            server.run()
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)
            service.stop()


commands = [serve]
