"""A BERT WordPiece tokenizer read from a ``tokenizer.json``, in plain Python.

It gives the ids Hugging Face ``tokenizers`` gives for the plain BERT pipeline (special tokens
matched in the raw text, ``BertNormalizer``, ``BertPreTokenizer``, ``WordPiece``, then
``[CLS] ... [SEP]``), so the numpy encoder needs no compiled tokenizer; any other pipeline is
refused with the reason (``unsupported``). ``tests/match/test_wordpiece.py`` holds it to the
library, character by character.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

# Unicode White_Space (Rust's char::is_whitespace), which str.isspace() is not: it adds \x1c-\x1f
_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)
_CJK = (  # the ranges BertNormalizer pads with spaces, as tokenizers spells them
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)
# ASCII text, the usual case, takes a shortcut: controls dropped, \t \n \r made spaces, then
# runs of letters and digits, and each other visible character alone.
_ASCII_CLEAN = {c: None for c in (*range(0x20), 0x7F) if chr(c) not in "\t\n\r"} | {
    ord(c): " " for c in "\t\n\r"
}
_ASCII_WORD = re.compile(r"[a-z0-9]+|[^a-z0-9 ]")
_DROPPED = frozenset({"Cc", "Cf", "Co", "Cs"})
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _is_chinese(c: str) -> bool:
    code = ord(c)
    return any(lo <= code <= hi for lo, hi in _CJK)


def _is_punctuation(c: str) -> bool:
    return c in _ASCII_PUNCTUATION or unicodedata.category(c).startswith("P")


def _is_dropped(c: str) -> bool:
    """NUL, U+FFFD, control and format characters, private use (not the unassigned)."""
    if c in "\t\n\r":
        return False
    return c in "\x00\ufffd" or unicodedata.category(c) in _DROPPED


def unsupported(data: Any) -> str | None:
    """Why a parsed ``tokenizer.json`` is not the plain BERT WordPiece pipeline, or None."""
    if not isinstance(data, dict):
        return "tokenizer.json is not a JSON object"
    wanted = {
        "normalizer": "BertNormalizer", "pre_tokenizer": "BertPreTokenizer", "model": "WordPiece",
    }
    for part, kind in wanted.items():
        found = (data.get(part) or {}).get("type")
        if found != kind:
            return f"tokenizer.json {part} {found!r} is not {kind!r}"
    for token in data.get("added_tokens") or []:
        if token.get("normalized") or token.get("lstrip") or token.get("rstrip") or token.get(
            "single_word"
        ):
            return f"tokenizer.json added token {token.get('content')!r} is not matched as is"
    if _ends(data.get("post_processor")) is None:
        return "tokenizer.json post_processor is not [CLS] text [SEP]"
    return None


def _ends(post: Any) -> tuple[int, int] | None:
    """The ids put before and after a single text, from a BERT-style post-processor."""
    if not isinstance(post, dict):
        return None
    if post.get("type") == "BertProcessing":
        return int(post["cls"][1]), int(post["sep"][1])
    if post.get("type") != "TemplateProcessing":
        return None
    single = post.get("single") or []
    shape = [next(iter(step)) for step in single]
    if shape != ["SpecialToken", "Sequence", "SpecialToken"]:
        return None
    specials = post.get("special_tokens") or {}
    first, last = (specials[single[i]["SpecialToken"]["id"]]["ids"] for i in (0, 2))
    return (int(first[0]), int(last[0])) if len(first) == len(last) == 1 else None


class WordPiece:
    """Text -> token ids, truncated to ``max_length`` with the two special tokens included."""

    def __init__(self, data: dict[str, Any], max_length: int) -> None:
        norm, model = data["normalizer"], data["model"]
        self._clean = bool(norm.get("clean_text", True))
        self._chinese = bool(norm.get("handle_chinese_chars", True))
        self._lower = bool(norm.get("lowercase", True))
        accents = norm.get("strip_accents")
        self._strip = self._lower if accents is None else bool(accents)
        self._vocab: dict[str, int] = model["vocab"]
        self._unk = self._vocab[model.get("unk_token", "[UNK]")]
        self._prefix = str(model.get("continuing_subword_prefix", "##"))
        self._longest = int(model.get("max_input_chars_per_word", 100))
        self._first, self._last = _ends(data["post_processor"]) or (0, 0)
        self._room = max(0, max_length - 2)
        added = {t["content"]: int(t["id"]) for t in data.get("added_tokens") or []}
        self._added = added
        longest_first = sorted(added, key=len, reverse=True)
        self._split = re.compile("|".join(map(re.escape, longest_first))) if added else None
        self._words: dict[str, list[int]] = {}

    @classmethod
    def from_file(cls, path: Path, max_length: int) -> WordPiece:
        """Read ``path``; ValueError with the reason when it is not the plain BERT kind."""
        data = json.loads(path.read_text(encoding="utf-8"))
        why = unsupported(data)
        if why is not None:
            raise ValueError(why)
        return cls(data, max_length)

    def encode(self, text: str) -> list[int]:
        """The ids the model reads: first special, at most ``max_length - 2`` tokens, last."""
        ids: list[int] = []
        start = 0
        for found in self._split.finditer(text) if self._split else ():
            ids += self._plain(text[start : found.start()])
            ids.append(self._added[found.group()])
            start = found.end()
        ids += self._plain(text[start:])
        return [self._first, *ids[: self._room], self._last]

    def _plain(self, text: str) -> list[int]:
        if text.isascii() and self._clean and self._lower:
            words = _ASCII_WORD.findall(text.translate(_ASCII_CLEAN).lower())
        else:
            words = self._words_of(self._normalize(text))
        ids: list[int] = []
        for word in words:
            known = self._words.get(word)
            if known is None:
                known = self._pieces(word)
                if len(self._words) < 100_000:
                    self._words[word] = known
            ids += known
        return ids

    def _normalize(self, text: str) -> str:
        if self._clean:
            text = "".join(
                " " if c in _WHITESPACE else c for c in text if not _is_dropped(c)
            )
        if self._chinese:
            text = "".join(f" {c} " if _is_chinese(c) else c for c in text)
        if self._strip:
            text = unicodedata.normalize("NFD", text)
            text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        if self._lower:  # character by character, as tokenizers does (no final sigma)
            text = "".join(c.lower() for c in text)
        return text

    @staticmethod
    def _words_of(text: str) -> list[str]:
        """Split on white space, and each punctuation character apart."""
        words: list[str] = []
        for chunk in "".join(" " if c in _WHITESPACE else c for c in text).split(" "):
            run = ""
            for c in chunk:
                if _is_punctuation(c):
                    words += [run, c] if run else [c]
                    run = ""
                else:
                    run += c
            if run:
                words.append(run)
        return words

    def _pieces(self, word: str) -> list[int]:
        """Greedy longest-match-first WordPiece; one unknown token for a word it cannot cover."""
        if len(word) > self._longest:
            return [self._unk]
        whole = self._vocab.get(word)
        if whole is not None:
            return [whole]
        ids, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else self._prefix + word[start:end]
                found = self._vocab.get(piece)
                if found is not None:
                    ids.append(found)
                    start = end
                    break
            else:
                return [self._unk]
        return ids
