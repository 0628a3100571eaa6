"""``newsletter annotate``: label the backlog of stored papers chunk by chunk, resumable (what
was labelled is kept; the next call asks only for the rest).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from newsletter.app.model_answers import labelled
from newsletter.app.model_doors import ModelRun
from newsletter.config import Config
from newsletter.errors import ConfigError
from newsletter.models import Paper


@dataclass
class AnnotateReport:
    """What ``newsletter annotate`` did: papers looked at, labelled now, labelled before,
    not labelled (failed or skipped: asked again next time)."""

    papers: int = 0
    labelled: int = 0
    already: int = 0
    pending: int = 0

    def describe(self) -> str:
        return (f"{self.papers} papers: {self.labelled} labelled now, {self.already} before, "
                f"{self.pending} not labelled (asked again next time)")


ANNOTATE_CHUNK = 64  # papers asked about between two progress updates


def annotate(
    config: Config,
    engine: Engine,
    papers: Sequence[Paper],
    on_chunk: Callable[[AnnotateReport], None] | None = None,
    run: ModelRun | None = None,
) -> AnnotateReport:
    """Label the ``papers`` that have no kept labels, chunk by chunk (stopping at any point
    keeps what was labelled: the next call asks only for the rest)."""
    run = run or ModelRun.start(config, engine)
    if run is None:
        raise ConfigError(f"{config.origin}: no language model is set up: set [llm] base_url "
                          "and model to label papers")
    report = AnnotateReport(papers=len(papers))
    with engine.connect() as conn:
        report.already = sum(1 for p in labelled(config, conn, papers) if p.labels)
    for start in range(0, len(papers), ANNOTATE_CHUNK):
        report.labelled += run.label(papers[start : start + ANNOTATE_CHUNK])
        if on_chunk is not None:
            on_chunk(report)
    report.pending = report.papers - report.already - report.labelled
    run.record()
    return report
