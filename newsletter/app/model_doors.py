"""The three moments a language model is asked, in one place: a paper is labelled when it is
stored, a reader's profile is widened when it is saved (or first needed), and a due reader's
best candidates are reranked when their issue is built. Every answer is kept (store
``llm_answers``), so nothing is asked twice; matching reads what was kept.

All of it is off while ``[llm] base_url`` is unset: nothing here then imports the model's
package, reads a kept answer or changes an issue.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from newsletter.app.model_answers import expansions, labelled, reader_of, rerank_key
from newsletter.config import Config
from newsletter.match import Matcher
from newsletter.match.rerank import reranked
from newsletter.models import Paper, Pick, Subscriber
from newsletter.store import llm_answers

if TYPE_CHECKING:
    from newsletter.llm.client import ChatClient

READERS = "rerank_readers"  # how a run's reranked readers are noted beside its requests
log = logging.getLogger("newsletter.llm")


@dataclass
class ModelRun:
    """One run's use of the model (a fetch, a tick, a command): its client, budget and counts.

    ``ModelRun.start(config, engine)`` gives ``None`` when ``[llm]`` is unset."""

    config: Config
    engine: Engine
    client: ChatClient
    asked: set[str] = field(default_factory=set)  # request keys that failed this run
    reranked: int = 0  # readers whose issue the model reranked this run
    not_reranked: int = 0  # readers who got the doors' ranking (budget spent, model failing)

    @classmethod
    def start(
        cls, config: Config, engine: Engine, client: ChatClient | None = None
    ) -> ModelRun | None:
        if not config.llm.enabled:
            return None
        if client is None:
            from newsletter.llm.client import ChatClient

            client = ChatClient(config.llm, config.secrets.get("LLM_API_KEY"))
        return cls(config, engine, client)

    @property
    def model(self) -> str:
        return self.config.llm.model

    # -- the paper door ------------------------------------------------------------------
    def label(self, papers: Sequence[Paper]) -> int:
        """Ask for the labels of ``papers`` that have none kept; returns how many were kept."""
        if not self.config.llm.label_papers:
            return 0
        from newsletter.llm.contract import paper_request, read_paper_fields

        wanted = {paper_request(p).key: paper_request(p) for p in papers}
        with self.engine.connect() as conn:
            have = llm_answers.kept_replies(conn, list(wanted))
        todo = [r for k, r in wanted.items() if k not in have]
        return self._ask_and_keep("paper_fields", todo, read_paper_fields)

    # -- the reader door -----------------------------------------------------------------
    def expand(self, subs: Sequence[Subscriber]) -> int:
        """Ask for the phrases of profiles that have none kept; returns how many were kept."""
        if not self.config.llm.expand_profiles:
            return 0
        from newsletter.llm.contract import profile_request, read_profile_phrases

        with self.engine.connect() as conn:
            wanted = {r.key: r for r in (profile_request(reader_of(conn, s)) for s in subs)}
            have = llm_answers.kept_replies(conn, list(wanted))
        todo = [r for k, r in wanted.items() if k not in have]
        return self._ask_and_keep("reader_profile", todo, read_profile_phrases)

    def _ask_and_keep(self, use: str, todo: list[Any], read: Any) -> int:
        todo = [r for r in todo if r.key not in self.asked]  # a failure waits for the next run
        if not todo:
            return 0
        from newsletter.llm.client import Failure

        answers = self.client.ask(todo, read)
        replies = {
            key: json.loads(json.dumps(_as_reply(answer)))
            for key, answer in answers.items() if not isinstance(answer, Failure)
        }
        self.asked |= {key for key, answer in answers.items() if isinstance(answer, Failure)}
        with self.engine.begin() as conn:
            llm_answers.keep_replies(conn, use, self.model, replies, datetime.now(UTC))
        return len(replies)

    # -- the rerank ----------------------------------------------------------------------
    def rerank_scores(self, sub: Subscriber, candidates: Sequence[Pick]) -> dict[str, int] | None:
        """The model's 0-10 score of each candidate for ``sub`` (kept ones reused, the rest
        asked in one request); None when the model could not answer for all of them."""
        from newsletter.llm.contract import rerank_reader, rerank_request

        papers = [c.paper for c in candidates]
        with self.engine.connect() as conn:
            reader = reader_of(conn, sub)
            key = rerank_key(reader)
            kept = llm_answers.kept_scores(conn, key, [p.key for p in papers])
        missing = [p for p in papers if p.key not in kept]
        if not missing:
            return kept
        request = rerank_request(reader, missing)
        if request.key in self.asked:
            return None
        answer = self.client.ask([request], rerank_reader(len(missing)))
        scores = answer.get(request.key)
        if not isinstance(scores, tuple):
            self.asked.add(request.key)
            return None
        fresh = {p.key: s for p, s in zip(missing, scores, strict=True)}
        with self.engine.begin() as conn:
            llm_answers.keep_scores(conn, key, self.model, fresh, datetime.now(UTC))
        return kept | fresh

    def describe(self) -> list[str]:
        """One line per use the model was asked for this run, for the run's report."""
        names = {"paper_fields": "labels", "reader_profile": "reader phrases",
                 "reader_rerank": "rerank"}
        return [
            f"language model, {names.get(use, use)}: {r.asked} asked, {r.answered} answered, "
            f"{r.failed} failed, {r.skipped} skipped (budget), {r.tokens} tokens"
            for use, r in self.client.reports().items()
        ]

    def record(self) -> None:
        """Note what this run asked, per use (for ``status``), and close its connections."""
        now = datetime.now(UTC)
        counts = [
            llm_answers.RunCounts(now, use, r.asked, r.answered, r.failed, r.skipped, r.tokens)
            for use, r in self.client.reports().items()
        ]
        readers = self.reranked + self.not_reranked
        if readers:  # readers served by the rerank (kept scores or asked now) and not
            counts.append(llm_answers.RunCounts(now, READERS, readers, self.reranked,
                                                self.not_reranked, 0, 0))
        with self.engine.begin() as conn:
            llm_answers.record_run(conn, counts)
        self.client.close()


def _as_reply(answer: Any) -> dict[str, Any]:
    """A parsed answer as the JSON reply it came from (what the store keeps)."""
    if hasattr(answer, "fields"):
        return {"fields": list(answer.fields), "summary": answer.summary}
    return {"phrases": list(answer.phrases), "exclude_phrases": list(answer.exclude_phrases)}


def pick_with_model(
    config: Config,
    engine: Engine,
    run: ModelRun | None,
    matcher: Matcher,
    subs: Sequence[Subscriber],
    papers: Sequence[Paper],
    past: tuple[Any, Any, Any] = (None, None, None),
) -> dict[str, list[Pick]]:
    """Each reader's picks with what the model gave: papers with their kept labels, readers
    with their kept phrases (asked first, given a ``run``, for profiles that have none) and,
    given a ``run``, each reader's best candidates reranked by the model; a reader the model
    cannot serve (budget spent, failing) gets the doors' ranking."""
    if run is not None:
        run.expand(subs)
    with engine.connect() as conn:
        papers = labelled(config, conn, papers)
        phrases = expansions(config, conn, subs)
    k = config.llm.rerank_candidates if run is not None and config.llm.rerank else 0
    sent, judged, refs = past
    ranked = matcher.rank_many(subs, papers, sent, judged, refs, phrases, (0, k) if k else (0,))
    picks = ranked[0]
    if run is None or not k:
        return picks
    for sub in subs:
        candidates = ranked[1][sub.email]
        scores = run.rerank_scores(sub, candidates) if candidates else None
        if scores is None:
            run.not_reranked += bool(candidates)
            continue
        run.reranked += 1
        picks[sub.email] = reranked(candidates, scores, config.llm.rerank_cut, sub.max_papers)
    return picks
