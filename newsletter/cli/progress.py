"""Progress on the long steps: a bar on a terminal, one summary line per step otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from newsletter.app.stages import Stages
from newsletter.wording import count

CHUNK = 64  # texts encoded between two progress updates
WORTH_SHOWING = 128  # fewer texts than this are quick: no bar, no line


class Encoder(Protocol):
    """What the matcher embeds with (``match.semantic.Embedder``), as far as this needs it."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class EmbeddingProgress:
    """An ``Embedder`` that shows progress while it encodes many texts (the first run embeds
    every paper, which takes tens of seconds on a laptop's CPU)."""

    def __init__(self, inner: Encoder, console: Console) -> None:
        self.inner = inner
        self.name = inner.name
        self.console = console

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) < WORTH_SHOWING:
            return self.inner.encode(texts)
        started = time.monotonic()
        chunks: list[np.ndarray] = []
        if self.console.is_terminal:
            columns = (TextColumn("embedding"), BarColumn(), MofNCompleteColumn(),
                       TimeRemainingColumn())
            with Progress(*columns, console=self.console, transient=True) as bar:
                task = bar.add_task("embedding", total=len(texts))
                for start in range(0, len(texts), CHUNK):
                    chunks.append(self.inner.encode(texts[start : start + CHUNK]))
                    bar.advance(task, len(chunks[-1]))
        else:
            chunks = [self.inner.encode(texts[s : s + CHUNK]) for s in range(0, len(texts), CHUNK)]
        seconds = time.monotonic() - started
        self.console.print(f"embedded {count(len(texts), 'text')} in {seconds:.1f} s", markup=False)
        return np.vstack(chunks)


def show_embedding_progress(stages: Stages, console: Console) -> Stages:
    """The same stages, their matcher reporting long embedding work on ``console``."""
    attach_progress(stages.matcher, console)
    return stages


def attach_progress(matcher: Any, console: Console) -> None:
    """Make ``matcher`` (anything with an ``embedder``) report long embedding work."""
    if matcher.embedder is not None and not isinstance(matcher.embedder, EmbeddingProgress):
        matcher.embedder = EmbeddingProgress(matcher.embedder, console)


@contextmanager
def download_bar(console: Console) -> Iterator[Callable[[int, int], None] | None]:
    """A download's bar on a terminal (a ``(done, total)`` callback), nothing elsewhere."""
    if not console.is_terminal:
        yield None
        return
    columns = (TextColumn("downloading"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("downloading", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
