"""Progress on the long steps: a bar on a terminal, one summary line per step otherwise."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from newsletter.app.stages import Stages
from newsletter.match.semantic import Embedder
from newsletter.wording import count

CHUNK = 64  # texts encoded between two progress updates
WORTH_SHOWING = 128  # fewer texts than this are quick: no bar, no line


class EmbeddingProgress:
    """An ``Embedder`` that shows progress while it encodes many texts (the first run embeds
    every paper, which takes tens of seconds on a laptop's CPU)."""

    def __init__(self, inner: Embedder, console: Console) -> None:
        self.inner = inner
        self.name = inner.name
        self.console = console

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) < WORTH_SHOWING:
            return self.inner.encode(texts)
        started = time.monotonic()
        stages: list[np.ndarray] = []
        if self.console.is_terminal:
            columns = (TextColumn("embedding"), BarColumn(), MofNCompleteColumn(),
                       TimeRemainingColumn())
            with Progress(*columns, console=self.console, transient=True) as bar:
                task = bar.add_task("embedding", total=len(texts))
                for start in range(0, len(texts), CHUNK):
                    stages.append(self.inner.encode(texts[start : start + CHUNK]))
                    bar.advance(task, len(stages[-1]))
        else:
            stages = [self.inner.encode(texts[s : s + CHUNK]) for s in range(0, len(texts), CHUNK)]
        seconds = time.monotonic() - started
        self.console.print(f"embedded {count(len(texts), 'text')} in {seconds:.1f} s", markup=False)
        return np.vstack(stages)


def show_embedding_progress(stages: Stages, console: Console) -> Stages:
    """The same stages, their matcher reporting long embedding work on ``console``."""
    matcher = stages.matcher
    if matcher.embedder is not None and not isinstance(matcher.embedder, EmbeddingProgress):
        matcher.embedder = EmbeddingProgress(matcher.embedder, console)
    return stages
