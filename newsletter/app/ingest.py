"""Store what the sources hold: every source read (``sources.reading``) and its papers stored
in one transaction of its own, so one failing source never stops the rest.

This is the one way papers get into the store from a source: ``newsletter fetch``, ``run``,
``serve``'s fetch job and ``demo`` all come through ``ingest``, so a step that belongs to
storing a paper is added here once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy.engine import Engine

from newsletter.app.model_doors import ModelRun
from newsletter.config import Config, FetchSettings, SourceSettings
from newsletter.errors import ConfigError, SourceError
from newsletter.models import Paper
from newsletter.sources import folders
from newsletter.sources.clean import clean_line, fit
from newsletter.sources.http import Fetcher
from newsletter.sources.reading import read_source, source_name, unforeseen
from newsletter.sources.registry import settings_for
from newsletter.store.fetch_state import SOURCE_CHARS, load_validators, save_state
from newsletter.store.papers import UpsertCounts, upsert_papers

Status = Literal["ok", "not-modified", "failed"]
OnReport = Callable[["SourceReport"], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceReport:
    """The outcome of ingesting one source, for the progress display and the exit status."""

    source: str
    status: Status
    entries: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    skipped: tuple[str, ...] = ()
    error: str = ""
    repaired: tuple[str, ...] = ()  # bad bytes mended in its pages, and where


def open_fetcher(settings: FetchSettings, on_retry: Callable[[str], None] | None = None) -> Fetcher:
    """The HTTP client every remote source is read with (a context manager)."""
    return Fetcher(settings, on_retry=on_retry)


def chosen_sources(config: Config, locations: Sequence[str] = ()) -> list[SourceSettings]:
    """The sources given by URL, file, folder or glob, else the enabled configured ones; each
    page of a folder or glob becomes a source of its own."""
    if locations:
        specs = [settings_for(location) for location in locations]
    else:
        specs = [s for s in config.sources if s.enabled]
        if not specs:
            raise ConfigError(f"{config.origin}: no [[sources]] configured; use --source")
    return folders.expand(specs, config)


def ingest(
    engine: Engine,
    config: Config,
    specs: Iterable[SourceSettings],
    fetcher: Fetcher,
    now: datetime,
    on_report: OnReport | None = None,
    model: ModelRun | None = None,
) -> list[SourceReport]:
    """Ingest each source in its own transaction: all of its papers are stored, or none;
    with ``[llm]`` set, the papers a source brought are then labelled (asked within
    ``model``, or a run of this ingest's own; a paper already labelled is not asked again).

    Each page of a folder or glob source is a source of its own, with its own report.
    """
    run = model or ModelRun.start(config, engine)
    reports = []
    for spec in folders.expand(specs, config):
        report, papers = ingest_one(engine, config, spec, fetcher, now)
        if run is not None and papers:
            run.label(papers)
        reports.append(report)
        if on_report:
            on_report(report)
    if run is not None and model is None:
        run.record()
    return reports


def ingest_one(
    engine: Engine, config: Config, spec: SourceSettings, fetcher: Fetcher, now: datetime
) -> tuple[SourceReport, list[Paper]]:
    """Read and store one source; every failure, foreseen or not, is its one-line report.
    Returns the report and the papers stored (none when the source failed)."""
    name = clean_line(source_name(spec))
    key = state_key(name)
    try:
        with engine.connect() as conn:
            validators = load_validators(conn, key) if spec.url else None
        reading = read_source(spec, fetcher, config, now.date(), validators)
        status: Status = "not-modified" if reading.not_modified else "ok"
        with engine.begin() as conn:
            counts = upsert_papers(conn, reading.papers, name, now)
            save_state(conn, key, now, status, reading.validators)
    except SourceError as exc:
        return _failed(engine, name, key, now, exc.problem), []
    except Exception as exc:  # the store refused, or a bug: the next source still runs
        log.debug("storing %r failed", name, exc_info=True)
        return _failed(engine, name, key, now, unforeseen(exc)), []
    skipped = tuple(s for page in reading.pages for s in page.skipped)
    repaired = tuple(s for page in reading.pages for s in page.repaired)
    for line in repaired:
        log.warning("%s: %s", name, line)
    entries = sum(page.entries for page in reading.pages)
    return SourceReport(name, status, entries, counts, skipped, repaired=repaired), reading.papers


def state_key(name: str) -> str:
    """The row of ``fetch_state`` that belongs to a source: its name, fitted to the column."""
    return fit(name, SOURCE_CHARS)


def _failed(engine: Engine, name: str, key: str, now: datetime, problem: str) -> SourceReport:
    try:
        with engine.begin() as conn:
            save_state(conn, key, now, "failed", error=problem)
    except Exception:  # the database itself fails: the report still says what happened
        log.debug("recording the failure of %r failed", name, exc_info=True)
    return SourceReport(name, "failed", error=problem)
