"""The matcher: one subscriber or many against a list of candidate papers -> ranked picks."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

from newsletter.config import MatchSettings
from newsletter.match import fields, reader
from newsletter.match import fuse as fusion
from newsletter.match.scores import BatchScores, score_batch
from newsletter.match.select import Selection, disliked_keys, liked_keys, select
from newsletter.match.semantic import Embedder, MemoryCache, VectorCache, load_embedder
from newsletter.models import Expansion, Paper, Pick, Subscriber, normalize_title

log = logging.getLogger(__name__)
_warned: list[bool] = []


class Matcher:
    """Scores papers for subscribers: lexical always, semantic when an embedder is given."""

    def __init__(
        self,
        settings: MatchSettings,
        embedder: Embedder | None = None,
        cache: VectorCache | None = None,
        cal: fusion.Calibration = fusion.DEFAULT,
        vocabulary: fields.Vocabulary | None = None,
        model: reader.ReaderParams = reader.DEFAULT_PARAMS,
    ) -> None:
        """``vocabulary``: the fields a parent process read, for a worker started while the
        operator's file is broken; without it a bad file stops the start. ``model``: the
        parameters of each reader's model (``match/reader.py``)."""
        self.model = model
        self.settings = settings
        self.embedder = embedder
        self.cache: VectorCache = cache if cache is not None else MemoryCache()
        self.cal = cal
        self._fields = fields.Live(settings.fields, vocabulary)

    @classmethod
    def from_settings(
        cls,
        settings: MatchSettings,
        cache: VectorCache | None = None,
        vocabulary: fields.Vocabulary | None = None,
    ) -> Matcher:
        """A matcher with the configured model, or lexical-only (said once) without one."""
        folder = Path(settings.model_cache) if settings.model_cache else None
        embedder = load_embedder(settings.model, folder) if settings.semantic else None
        if embedder is None and settings.semantic and not _warned:
            _warned.append(True)
            log.warning(
                "matching by words only: the sentence model is not installed "
                "(`newsletter model install` downloads it)"
            )
        return cls(settings, embedder, cache, vocabulary=vocabulary)

    @property
    def vocabulary(self) -> fields.Vocabulary:
        """The fields topics may name, as the operator's file is now."""
        return self._fields.current()

    @property
    def semantic(self) -> bool:
        return self.embedder is not None

    def match(
        self,
        subscriber: Subscriber,
        papers: Sequence[Paper],
        sent: Collection[str] = (),
        feedback: Mapping[str, int] | None = None,
        references: Mapping[str, Paper] | None = None,
        expansion: Expansion | None = None,
    ) -> list[Pick]:
        """This subscriber's picks, best first, already cut by threshold and ``max_papers``.

        ``sent`` holds keys already sent; ``feedback`` maps paper keys to +1 or -1;
        ``references`` supplies liked or disliked papers that are not among ``papers``;
        ``expansion`` holds more phrases a language model looks for on their behalf.
        """
        result = self.match_many(
            [subscriber],
            papers,
            {subscriber.email: sent},
            {subscriber.email: feedback or {}},
            references,
            {subscriber.email: expansion} if expansion else None,
        )
        return result[subscriber.email]

    def match_many(
        self,
        subscribers: Sequence[Subscriber],
        papers: Sequence[Paper],
        sent: Mapping[str, Collection[str]] | None = None,
        feedback: Mapping[str, Mapping[str, int]] | None = None,
        references: Mapping[str, Paper] | None = None,
        expansions: Mapping[str, Expansion] | None = None,
        uncut: int = 0,
    ) -> dict[str, list[Pick]]:
        """Picks for many subscribers (by email) from one scoring pass over ``papers``;
        ``uncut`` > 0 gives each reader's best ``uncut`` papers instead, threshold and
        ``max_papers`` aside (the candidates a reranker reads)."""
        return self.rank_many(
            subscribers, papers, sent, feedback, references, expansions, (uncut,)
        )[0]

    def rank_many(
        self,
        subscribers: Sequence[Subscriber],
        papers: Sequence[Paper],
        sent: Mapping[str, Collection[str]] | None = None,
        feedback: Mapping[str, Mapping[str, int]] | None = None,
        references: Mapping[str, Paper] | None = None,
        expansions: Mapping[str, Expansion] | None = None,
        cuts: Sequence[int] = (0,),
    ) -> list[dict[str, list[Pick]]]:
        """One scoring pass, one selection per entry of ``cuts``: 0 the delivered picks, k > 0
        each reader's best k papers with no threshold (a reranker's candidates)."""
        sent, feedback, expansions = sent or {}, feedback or {}, expansions or {}
        scores = self.score(subscribers, papers, feedback, references or {}, expansions)
        out: list[dict[str, list[Pick]]] = [{} for _ in cuts]
        for sub in subscribers:
            for n, uncut in enumerate(cuts):
                how = Selection(
                    self.settings.threshold,
                    self.settings.relative,
                    sent.get(sub.email, ()),
                    feedback.get(sub.email),
                    self.cal,
                    expansions.get(sub.email),
                    uncut,
                    self.model,
                )
                out[n][sub.email] = select(sub, scores, how)
        return out

    def score(
        self,
        subscribers: Sequence[Subscriber],
        papers: Sequence[Paper],
        feedback: Mapping[str, Mapping[str, int]],
        references: Mapping[str, Paper],
        expansions: Mapping[str, Expansion] | None = None,
    ) -> BatchScores:
        """The shared score matrices for a batch (exposed for benchmarks and diagnostics)."""
        unique = list({p.key: p for p in papers}.values())
        topics = [t for s in subscribers for t in s.topics]
        excludes = [e for s in subscribers for e in s.exclude]
        more = [x for s in subscribers if (x := (expansions or {}).get(s.email))]
        phrases = [p for x in more for p in (*x.phrases, *x.exclude_phrases)]
        by_title = {f"title:{normalize_title(p.title)}": p for p in unique}
        known = by_title | {p.key: p for p in unique} | dict(references)
        wanted = _reference_keys(subscribers, feedback)
        refs = [known[k] for k in wanted if k in known]
        return score_batch(
            unique,
            topics,
            excludes,
            refs,
            aliases={k: known[k].key for k in wanted if k in known and known[k].key != k},
            embedder=self.embedder,
            cache=self.cache,
            lexical_weight=self.settings.lexical_weight,
            cal=self.cal,
            vocabulary=self.vocabulary,
            plain=phrases,
        )


def _reference_keys(
    subscribers: Iterable[Subscriber], feedback: Mapping[str, Mapping[str, int]]
) -> list[str]:
    keys: list[str] = []
    for sub in subscribers:
        keys += liked_keys(sub, feedback.get(sub.email))
        keys += disliked_keys(feedback.get(sub.email))
    return list(dict.fromkeys(keys))
