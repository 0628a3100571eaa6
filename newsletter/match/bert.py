"""A torch-free encoder for BERT sentence-transformers models (all-MiniLM-L6-v2 and kin).

It runs a sentence-transformers folder (config.json, model.safetensors, tokenizer.json,
modules.json, sentence_bert_config.json, 1_Pooling/config.json) with numpy and safetensors
alone and gives the vectors sentence-transformers gives, to float32 rounding, without PyTorch's
memory: the weights are held once, in float32. Supported: ``model_type`` "bert" with exact
(erf) GELU and absolute positions, then mean or CLS pooling, and a BERT WordPiece tokenizer
(``match/wordpiece.py``; another kind needs the ``tokenizers`` package); anything else raises
``MatchError``. Vectors are always
normalised to unit length, Normalize module or not, since callers use dot products as cosines.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from newsletter.errors import MatchError
from newsletter.match import wordpiece

F32 = NDArray[np.float32]
_BATCH_TOKENS = 2048  # padded tokens per forward pass: ~256 short phrases or 8 long abstracts
_QUERY_BLOCK = 32  # attention queries per block: small scores, BLAS calls below its threading
_THREADS = min(4, os.cpu_count() or 1)  # for attention and GELU; BLAS threads the big products
_GELU_BLOCK = 1 << 17  # values per GELU block: its dozen passes stay in the CPU cache
_POOLINGS = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}
_CONFIG = {"model_type": {"bert"}, "hidden_act": {"gelu"}, "position_embedding_type": {"absolute"}}
# erfc by Abramowitz & Stegun 7.1.26 (error < 1.5e-7): poly(t) exp(-z^2), t = 1 / (1 + p z),
# coefficients halved for GELU and p scaled by 1/sqrt(2) (z = |x| / sqrt 2).
_ERF_A = [a / 2 for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)]
_ERF_P = 0.3275911 / math.sqrt(2.0)


def _error(path: Path, problem: str) -> MatchError:
    return MatchError(f"match.model {str(path)!r}: {problem}")


def _json(path: Path, name: str) -> Any:
    try:
        return json.loads((path / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _error(path, f"cannot read {name}: {exc}") from None


def _settings(path: Path) -> tuple[dict[str, Any], str, int, bool]:
    """The model config, pooling, token limit and lowercasing; MatchError if unsupported."""
    for name in ("model.safetensors", "tokenizer.json"):
        if not (path / name).is_file():
            raise _error(path, f"{name} is missing")
    config = _json(path, "config.json")
    for key, allowed in _CONFIG.items():  # no position_embedding_type means absolute
        if config.get(key, "absolute") not in allowed:
            raise _error(path, f"config.json {key}={config.get(key)!r} is not supported")
    pooling_dir = "1_Pooling"
    for module in _json(path, "modules.json"):
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        if kind not in ("Transformer", "Pooling", "Normalize"):
            raise _error(path, f"modules.json type={module.get('type')!r} is not supported")
        if kind == "Pooling":
            pooling_dir = module.get("path") or pooling_dir
    pooling = _json(path / pooling_dir, "config.json")
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v is True]
    if len(modes) != 1 or modes[0] not in _POOLINGS:
        raise _error(path, f"{pooling_dir}/config.json pooling_mode={modes} is not supported")
    if (path / "config_sentence_transformers.json").is_file():
        prompt = _json(path, "config_sentence_transformers.json").get("default_prompt_name")
        if prompt:  # sentence-transformers would prepend it to every text
            raise _error(path, f"config_sentence_transformers.json default_prompt_name="
                               f"{prompt!r} is not supported")
    has_st = (path / "sentence_bert_config.json").is_file()
    st = _json(path, "sentence_bert_config.json") if has_st else {}
    limit = int(config.get("max_position_embeddings", 512))
    max_len = min(int(st.get("max_seq_length") or limit), limit)
    return config, _POOLINGS[modes[0]], max_len, bool(st.get("do_lower_case"))


def _tokenizer_problem(path: Path) -> str | None:
    """Why ``tokenizer.json`` cannot be read here: not WordPiece, and no tokenizers package."""
    why = wordpiece.unsupported(_json(path, "tokenizer.json"))
    if why is None or importlib.util.find_spec("tokenizers") is not None:
        return None
    return f"{why} (and the tokenizers package, which reads other kinds, is not installed)"


def _tokenizer(path: Path, max_len: int) -> Callable[[list[str]], list[list[int]]]:
    """Texts -> token ids: the plain-Python WordPiece for a BERT tokenizer, else tokenizers."""
    data = _json(path, "tokenizer.json")
    if wordpiece.unsupported(data) is None:
        plain = wordpiece.WordPiece(data, max_len)
        return lambda texts: [plain.encode(t) for t in texts]
    from tokenizers import Tokenizer

    library = Tokenizer.from_file(str(path / "tokenizer.json"))
    library.no_padding()  # padded per batch, in _forward
    library.enable_truncation(max_len)
    return lambda texts: [e.ids for e in library.encode_batch(texts)]


def _weights(path: Path, layers: int, head_dim: int) -> dict[str, F32]:
    """float32 weights without any ``bert.`` prefix, Q K V fused into one (Q pre-scaled)."""
    from safetensors.numpy import load_file

    # pread (safetensors >= 0.8) copies without a file mapping: the weights are resident once
    pread = {"backend": "pread"} if "backend" in inspect.signature(load_file).parameters else {}
    try:
        raw = load_file(path / "model.safetensors", **pread)
    except Exception as exc:  # safetensors has its own error types
        raise _error(path, f"cannot read model.safetensors: {exc}") from None
    word = "embeddings.word_embeddings.weight"
    prefix = next((k[: -len(word)] for k in raw if k.endswith(word)), None)
    if prefix is None:
        raise _error(path, f"model.safetensors has no {word}")
    keep = [k for k in raw if k.startswith(prefix) and "pooler" not in k and "_ids" not in k]
    w = {k[len(prefix) :]: raw.pop(k).astype(np.float32, copy=False) for k in keep}
    del raw
    scale = 1.0 / math.sqrt(head_dim)
    for i in range(layers):
        at = f"encoder.layer.{i}.attention.self."
        for part in ("weight", "bias"):
            q, k, v = (w.pop(f"{at}{name}.{part}") for name in ("query", "key", "value"))
            w[f"{at}qkv.{part}"] = np.concatenate([q * np.float32(scale), k, v])
    return w


def _norm(x: F32, w: dict[str, F32], name: str, eps: float) -> F32:
    x -= x.mean(-1, keepdims=True)
    x /= np.sqrt(np.mean(np.square(x), -1, keepdims=True) + eps)
    x *= w[f"{name}.weight"]
    x += w[f"{name}.bias"]
    return x


def _linear(x: F32, w: dict[str, F32], name: str) -> F32:
    y: F32 = x @ w[f"{name}.weight"].T
    y += w[f"{name}.bias"]
    return y


def _gelu(x: F32) -> F32:
    """Exact GELU in place: x Phi(x) = relu(x) - |x| erfc(|x| / sqrt 2) / 2, in cache blocks."""
    rows = max(1, _GELU_BLOCK // x.shape[1])
    buffers = [np.empty((rows, x.shape[1]), np.float32) for _ in range(3)]
    for i in range(0, len(x), rows):
        xb = x[i : i + rows]
        a, t, p = (buf[: len(xb)] for buf in buffers)
        np.abs(xb, out=a)
        np.multiply(a, _ERF_P, out=t)
        t += 1.0
        np.reciprocal(t, out=t)
        np.multiply(t, _ERF_A[0], out=p)
        for c in _ERF_A[1:]:
            p += c
            p *= t
        np.square(a, out=t)
        t *= -0.5
        p *= np.exp(t, out=t)
        p *= a
        np.maximum(xb, 0.0, out=xb)
        xb -= p
    return x


def _attention(qkv: F32, bias: F32, heads: int, pool: ThreadPoolExecutor) -> F32:
    """softmax(Q K^T + mask) V for all heads (Q pre-scaled), blocks of queries on the threads."""
    b, n = bias.shape[0], bias.shape[-1]
    q, k, v = qkv.reshape(b, n, 3, heads, -1).transpose(2, 0, 3, 1, 4)
    kt = np.ascontiguousarray(k.transpose(0, 1, 3, 2))
    ctx = np.empty((b, n, heads, q.shape[-1]), np.float32)

    def block(i: int) -> None:
        s = q[:, :, i : i + _QUERY_BLOCK] @ kt
        s += bias
        s -= s.max(-1, keepdims=True)
        np.exp(s, out=s)
        out = s @ v
        out /= s.sum(-1, keepdims=True)
        ctx[:, i : i + _QUERY_BLOCK] = out.transpose(0, 2, 1, 3)

    list(pool.map(block, range(0, n, _QUERY_BLOCK)))
    return ctx.reshape(b * n, -1)


class NumpyEncoder:
    """A sentence-transformers BERT model run by numpy on the CPU, loaded on first use."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self._w: dict[str, F32] = {}

    @staticmethod
    def unsupported(path: Path) -> str | None:
        """Why ``path`` is not a model this encoder runs (BERT, mean or CLS pooling), or None."""
        try:
            _settings(path)
            problem = _tokenizer_problem(path)
        except MatchError as exc:
            return str(exc)
        return None if problem is None else str(_error(path, problem))

    @staticmethod
    def supports(path: Path) -> bool:
        return NumpyEncoder.unsupported(path) is None

    def _load(self) -> None:
        try:
            self._read_model()
        except MatchError:
            raise
        except Exception as exc:  # tokenizers and safetensors raise their own error types
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise _error(self.path, f"cannot load the model: {first}") from None

    def _read_model(self) -> None:
        config, self._pooling, max_len, self._lower = _settings(self.path)
        self._heads, self._layers = config["num_attention_heads"], config["num_hidden_layers"]
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        self._tokenize = _tokenizer(self.path, max_len)
        self._w = _weights(self.path, self._layers, int(config["hidden_size"]) // self._heads)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (texts x dim, float32), one row per text in the order given."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if not self._w:
            self._load()
        ids: list[NDArray[np.int64]] = []
        for i in range(0, len(texts), 1024):  # only the ids of the encodings are kept
            chunk = [t.lower() if self._lower else t for t in texts[i : i + 1024]]
            ids += [np.array(e, np.int64) for e in self._tokenize(chunk)]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # longest first
        out = np.empty((len(texts), self._w["embeddings.LayerNorm.weight"].size), np.float32)
        start = 0
        with ThreadPoolExecutor(_THREADS) as pool:  # numpy frees the GIL in ufuncs and BLAS
            while start < len(order):
                batch = order[start : start + max(1, _BATCH_TOKENS // len(ids[order[start]]))]
                out[batch] = self._forward([ids[i] for i in batch], pool)
                start += len(batch)
        return out

    def _forward(self, ids: list[NDArray[np.int64]], pool: ThreadPoolExecutor) -> F32:
        """Unit vectors for one batch of token ids, the longest first."""
        w, b, n, eps = self._w, len(ids), len(ids[0]), self._eps
        lengths = np.array([len(i) for i in ids])
        mask = np.arange(n) < lengths[:, None]  # (b, n): True on real tokens
        padded = np.zeros((b, n), np.int64)
        padded[mask] = np.concatenate(ids)
        x = w["embeddings.word_embeddings.weight"][padded]
        x += w["embeddings.position_embeddings.weight"][:n]
        x += w["embeddings.token_type_embeddings.weight"][0]
        x = _norm(x.reshape(b * n, -1), w, "embeddings.LayerNorm", eps)
        bias = np.where(mask, np.float32(0), np.finfo(np.float32).min)[:, None, None, :]
        for i in range(self._layers):
            p = f"encoder.layer.{i}."
            ctx = _attention(_linear(x, w, p + "attention.self.qkv"), bias, self._heads, pool)
            x += _linear(ctx, w, p + "attention.output.dense")
            x = _norm(x, w, p + "attention.output.LayerNorm", eps)
            h = _linear(x, w, p + "intermediate.dense")
            list(pool.map(_gelu, np.array_split(h, _THREADS)))
            x += _linear(h, w, p + "output.dense")
            x = _norm(x, w, p + "output.LayerNorm", eps)
        tokens = x.reshape(b, n, -1)
        if self._pooling == "cls":
            pooled = tokens[:, 0]
        else:
            pooled = np.einsum("bnh,bn->bh", tokens, mask.astype(np.float32))
            pooled /= np.maximum(lengths, 1)[:, None].astype(np.float32)
        unit: F32 = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return unit
