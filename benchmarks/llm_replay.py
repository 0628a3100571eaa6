"""Recorded answers of a language model, and the held-out readers they were asked about.

``tests/data/llm/`` keeps, for each request the project sent once to a recording session:
paper and profile answers keyed by the request's key, and rerank scores keyed by the reader's
words and the paper's title, so that they survive a change in who else was a candidate.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from newsletter.llm.client import ChatClient
from newsletter.llm.contract import (
    PaperFields,
    ProfilePhrases,
    Reader,
    Request,
    paper_request,
    profile_request,
    read_paper_fields,
    read_profile_phrases,
    rerank_reader,
    rerank_request,
)
from newsletter.models import Expansion, Paper, Subscriber, normalize_title

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


def recorded_labels(papers: list[Paper], recorded: Recorded = RECORDED) -> list[Paper]:
    """``papers`` with the field labels and summary of their recorded answers."""
    out = []
    for paper in papers:
        reply = recorded.replies.get(paper_request(paper).key)
        if reply is None:
            out.append(paper)
            continue
        found = read_paper_fields(json.dumps(reply))
        out.append(replace(paper, labels=found.fields, summary=found.summary))
    return out


def recorded_expansion(reader: Reader, recorded: Recorded = RECORDED) -> Expansion | None:
    """A reader's recorded phrases, when they were recorded."""
    reply = recorded.replies.get(profile_request(reader).key)
    if reply is None:
        return None
    found = read_profile_phrases(json.dumps(reply))
    return Expansion(found.phrases, found.exclude_phrases)


def rerank_candidates(k: int = 30) -> list[tuple[dict[str, Any], Reader, list[Paper]]]:
    """Each held-out profile, its reader, and the doors' ranking's best ``k`` papers (labels
    and phrases from the recorded answers, no threshold): what a rerank request carries."""
    from match_bench import doors_matcher, readers, seed_papers

    papers = recorded_labels(seed_papers())
    by_title = {normalize_title(p.title): p for p in papers}
    pairs = heldout_readers({t: p.title for t, p in by_title.items()})
    group = [p for p, _ in pairs]
    subs, feedback, refs = readers(group, by_title)
    expansions = {
        s.email: x for s, (_, r) in zip(subs, pairs, strict=True)
        if (x := recorded_expansion(r)) is not None
    }
    ranked = doors_matcher().match_many(subs, papers, None, feedback, refs, expansions, uncut=k)
    return [
        (profile, reader, [pick.paper for pick in ranked[s.email]])
        for (profile, reader), s in zip(pairs, subs, strict=True)
    ]


class Served:
    """The recorded answers asked for as the project asks: through the real client
    (``llm.client.ChatClient``) from the loopback OpenAI-compatible fake that replays them."""

    def __init__(self) -> None:
        sys.path.insert(0, str(ROOT / "tests"))
        from llm_fake import LlmFake

        self.fake = LlmFake(keep=False).__enter__()
        settings = self.fake.settings(max_requests=1_000_000, deadline=86_400)
        self.client = ChatClient(settings)

    def labels(self, papers: list[Paper]) -> list[Paper]:
        requests = [paper_request(p) for p in papers]
        answers = self.client.ask(requests, read_paper_fields)
        return [
            replace(p, labels=a.fields, summary=a.summary) if isinstance(a, PaperFields) else p
            for p, a in ((p, answers[r.key]) for p, r in zip(papers, requests, strict=True))
        ]

    def expansions(self, readers: dict[str, Reader]) -> dict[str, Expansion]:
        requests = {email: profile_request(r) for email, r in readers.items()}
        answers = self.client.ask(list(requests.values()), read_profile_phrases)
        return {
            email: Expansion(a.phrases, a.exclude_phrases)
            for email, r in requests.items() if isinstance(a := answers[r.key], ProfilePhrases)
        }

    def scores(self, reader: Reader, papers: list[Paper]) -> dict[str, int] | None:
        request = rerank_request(reader, papers)
        found = self.client.ask([request], rerank_reader(len(papers)))[request.key]
        if not isinstance(found, tuple):
            return None
        return {p.key: s for p, s in zip(papers, found, strict=True)}

    def close(self) -> None:
        self.client.close()
        self.fake.__exit__(None, None, None)


def model_results(group: list[dict[str, Any]], cut: int, k: int = 30) -> tuple[
    list[Any], list[Any], int
]:
    """The held-out profiles of ``group`` judged with the model's doors (labels and phrases),
    and with the doors and the rerank (scores of the doors' best ``k``, cut at ``cut``); and
    how many readers fell back to the doors' ranking (the model gave no scores). Every answer
    is the recorded one, asked through the real client from the loopback fake (``Served``).

    Every held-out profile is matched in one batch, as when the rerank answers were recorded:
    a batch of other readers can reorder near-equal scores (float rounding in the matrix
    product), which would ask about a candidate the recording never saw."""
    from match_bench import doors_matcher, readers, seed_papers

    served = Served()
    try:
        papers = served.labels(seed_papers())
        by_title = {normalize_title(p.title): p for p in papers}
        pairs = heldout_readers({t: p.title for t, p in by_title.items()})
        subs, feedback, refs = readers([p for p, _ in pairs], by_title)
        expansions = served.expansions(
            {s.email: r for s, (_, r) in zip(subs, pairs, strict=True)}
        )
        picks, candidates = doors_matcher().rank_many(
            subs, papers, None, feedback, refs, expansions, (0, k)
        )
        chosen = [(p, r, s) for (p, r), s in zip(pairs, subs, strict=True) if p in group]
        return judge_with_model(chosen, picks, candidates, served.scores, cut)
    finally:
        served.close()


def judge_with_model(
    chosen: list[tuple[dict[str, Any], Reader, Subscriber]],
    picks: dict[str, list[Any]],
    candidates: dict[str, list[Any]],
    scores_of: Callable[[Reader, list[Paper]], dict[str, int] | None],
    cut: int,
) -> tuple[list[Any], list[Any], int]:
    """Each chosen (profile, reader, subscriber) judged on the doors' picks, and on its
    candidates reranked by ``scores_of`` (None: no scores, the reader keeps the doors'
    picks, counted as a fallback)."""
    from match_bench import grades

    from newsletter.match.evaluate import judge_graded
    from newsletter.match.rerank import reranked

    doors, both, fallback = [], [], 0
    for profile, reader, sub in chosen:
        judged = grades(profile)
        mine = picks[sub.email]
        doors.append(judge_graded([normalize_title(x.paper.title) for x in mine], judged))
        scores = scores_of(reader, [c.paper for c in candidates[sub.email]])
        if scores is None:
            fallback += 1
        else:
            mine = reranked(candidates[sub.email], scores, cut, sub.max_papers)
        both.append(judge_graded([normalize_title(x.paper.title) for x in mine], judged))
    return doors, both, fallback
