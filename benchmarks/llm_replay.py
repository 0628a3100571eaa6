"""Recorded answers of a language model, and the held-out readers they were asked about.

``tests/data/llm/`` keeps, for each request the project sent once to a recording session:
paper and profile answers keyed by the request's key, and rerank scores keyed by the reader's
words and the paper's title, so that they survive a change in who else was a candidate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from newsletter.llm.contract import Reader, Request
from newsletter.models import normalize_title

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "llm"
HELDOUT = ROOT / "tests" / "data" / "relevance" / "heldout.json"


def reader_key(reader: Reader) -> str:
    """The digest rerank scores are kept by (``Reader.key``, which the loopback fake that
    replays them computes from a request's text with ``contract.reader_digest``)."""
    return reader.key


class Recorded:
    """The answers in ``tests/data/llm``: ``answers.jsonl`` (papers and profiles, one JSON
    object per line: key, use, reply) and ``rerank.jsonl`` (reader, title, score)."""

    def __init__(self, folder: Path = DATA) -> None:
        self.folder = folder
        self.replies: dict[str, dict[str, Any]] = {}
        self.uses: dict[str, str] = {}
        self.scores: dict[tuple[str, str], int] = {}
        for row in self._rows("answers.jsonl"):
            self.replies[row["key"]] = row["reply"]
            self.uses[row["key"]] = row["use"]
        for row in self._rows("rerank.jsonl"):
            self.scores[(row["reader"], row["title"])] = int(row["score"])
        self._rerank_keys: set[str] = set()

    def _rows(self, name: str) -> Iterator[dict[str, Any]]:
        path = self.folder / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    yield json.loads(line)

    def answered(self) -> set[str]:
        return set(self.replies) | self._rerank_keys

    def add(self, request: Request, reply: dict[str, Any], reader: Reader | None = None,
            titles: list[str] | None = None) -> None:
        if request.use != "reader_rerank":
            self.replies[request.key] = reply
            self.uses[request.key] = request.use
            return
        assert reader is not None and titles is not None
        for title, score in zip(titles, reply["scores"], strict=True):
            self.scores[(reader_key(reader), normalize_title(title))] = int(score)
        self._rerank_keys.add(request.key)

    def score(self, reader: Reader, title: str) -> int | None:
        return self.scores.get((reader_key(reader), normalize_title(title)))

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        answers = [
            json.dumps({"key": k, "use": self.uses[k], "reply": v}, ensure_ascii=False,
                       sort_keys=True)
            for k, v in sorted(self.replies.items())
        ]
        (self.folder / "answers.jsonl").write_text("\n".join(answers) + "\n", encoding="utf-8")
        scores = [
            json.dumps({"reader": r, "title": t, "score": s}, ensure_ascii=False)
            for (r, t), s in sorted(self.scores.items())
        ]
        if scores:
            (self.folder / "rerank.jsonl").write_text("\n".join(scores) + "\n", "utf-8")


RECORDED = Recorded()


def heldout_profiles() -> list[dict[str, Any]]:
    return list(json.loads(HELDOUT.read_text(encoding="utf-8"))["profiles"])


def heldout_readers(titles: dict[str, str] | None = None) -> list[tuple[dict[str, Any], Reader]]:
    """Each held-out profile and what a request says of it (liked papers by their titles)."""
    if titles is None:
        from match_bench import seed_papers

        titles = {normalize_title(p.title): p.title for p in seed_papers()}
    return [
        (p, Reader(tuple(p["topics"]), tuple(p["exclude"]), tuple(titles[k] for k in p["liked"])))
        for p in heldout_profiles()
    ]
