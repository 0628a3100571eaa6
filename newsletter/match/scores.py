"""Score every distinct phrase and reference paper against every candidate paper, in bulk.

Subscribers share phrases, so each distinct topic or exclude phrase is scored once; the
semantic side is one matrix product of phrase vectors by paper vectors. A phrase holding an
acronym that today's papers define ("SNN", "deep RL") is also scored spelt out, and keeps the
better of the two scores. A topic that names a field ("astronomy") is also scored by that field's
terms (``fields``), each calibrated on its own, at a discount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from newsletter.match import acronyms, fields, reader
from newsletter.match import fuse as fusion
from newsletter.match.lexical import LexicalIndex
from newsletter.match.semantic import Embedder, VectorCache, embed_papers, embed_phrases
from newsletter.match.words import fold
from newsletter.models import Paper


@dataclass
class BatchScores:
    """Per-phrase and per-reference scores over one list of candidate papers."""

    papers: list[Paper]
    index: LexicalIndex
    rows: dict[str, int]  # phrase -> row in the phrase matrices
    lexical: np.ndarray  # phrases x papers, lexical evidence mapped onto [0, 1]
    cosines: np.ndarray | None  # phrases x papers, raw cosines; None without embeddings
    semantic_parts: np.ndarray | None  # phrases x papers, semantic evidence in [0, 1]
    fused: np.ndarray  # phrases x papers, calibrated relevance in [0, 1]
    refs: dict[str, int]  # reference paper key -> row in ``similar``
    similar: np.ndarray  # references x papers, paper-to-paper similarity in [0, 1]
    ref_titles: dict[str, str]
    word_hits: dict[str, np.ndarray]  # exclude phrase -> papers holding all its words
    positions: dict[str, int]  # paper key -> column
    upvotes: np.ndarray  # per paper, unknown counted as 0
    by_author: dict[str, list[int]]  # normalised author name -> columns
    aliases: dict[str, str]  # another key a reference is known by (title:...) -> its key
    field_terms: dict[str, tuple[str, ...]]  # topic naming a field -> the field's terms
    field_lift: dict[str, np.ndarray]  # topic naming a field -> what the field adds per paper
    field_best: dict[str, np.ndarray]  # ... -> per paper, which of its terms matched best
    vectors: np.ndarray | None = None  # papers x dim unit vectors; None without embeddings
    ref_vectors: np.ndarray | None = None  # references x dim, rows as in ``similar``
    ref_papers: list[Paper] = field(default_factory=list)  # rows as in ``similar``
    _backgrounds: dict[float, reader.Background] = field(default_factory=dict)
    _words: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    _views: dict[str, reader.View] = field(default_factory=dict)
    # each reader model trained on this batch, by the papers it learned from and its parameters
    models: dict[tuple[object, ...], tuple[np.ndarray, float] | None] = field(
        default_factory=dict
    )

    @property
    def semantic(self) -> bool:
        return self.cosines is not None

    def background(self, shrink: float) -> reader.Background | None:
        """Today's papers as the readers' shared negative class (computed once a batch)."""
        if self.vectors is None or not len(self.vectors):
            return None
        if shrink not in self._backgrounds:
            self._backgrounds[shrink] = reader.background(self.vectors, shrink)
        return self._backgrounds[shrink]

    def views(self, shrink: float) -> tuple[reader.View | None, reader.View]:
        """The vector view (None without embeddings) and the word view every reader model
        of this batch reads (``reader.View``), computed once a batch."""
        if "words" not in self._views:
            papers, refs = self.words()
            self._views["words"] = reader.view(papers, refs, papers.mean(axis=0), None)
        bg, key = self.background(shrink), f"vectors:{shrink}"
        ready = bg is not None and self.vectors is not None and self.ref_vectors is not None
        if ready and key not in self._views:
            assert bg is not None and self.vectors is not None and self.ref_vectors is not None
            self._views[key] = reader.view(self.vectors, self.ref_vectors, bg.mean, bg.inverse)
        return self._views.get(key), self._views["words"]

    def words(self) -> tuple[np.ndarray, np.ndarray]:
        """The papers' and the references' hashed word features (computed once a batch)."""
        if not self._words:
            idf = self.index.idf
            self._words.append(
                (reader.word_matrix(self.papers, idf), reader.word_matrix(self.ref_papers, idf))
            )
        return self._words[0]


def score_batch(
    papers: Sequence[Paper],
    phrases: Sequence[str],
    excludes: Sequence[str],
    references: Sequence[Paper],
    *,
    aliases: dict[str, str] | None = None,
    embedder: Embedder | None,
    cache: VectorCache,
    lexical_weight: float,
    cal: fusion.Calibration = fusion.DEFAULT,
    vocabulary: fields.Vocabulary | None = None,
    plain: Sequence[str] = (),
) -> BatchScores:
    """Build the score matrices for ``papers`` against all ``phrases`` and ``references``;
    topics naming a field of ``vocabulary`` (default: the packaged one) widen to its terms;
    ``plain`` phrases (a reader's model-written ones) are scored as they are."""
    papers = list(papers)
    topics = list(dict.fromkeys(phrases))
    phrases = list(dict.fromkeys([*phrases, *excludes, *plain]))
    rows = {p: i for i, p in enumerate(phrases)}
    references = list({p.key: p for p in references}.values())
    index, known = _lexical_index(papers)
    forms = _variants(phrases, topics, known, vocabulary)
    lexical_every = fusion.lexical_part(index.score(forms.every), cal)
    lexical = forms.fold(lexical_every)
    cosines = semantic = similar = raw = vectors = ref_vectors = None
    if embedder is not None and papers:
        raw, similar, vectors, ref_vectors = _semantic(
            embedder, papers, forms.every, references, cache, cal
        )
        cosines = forms.fold(raw)
        semantic = fusion.semantic_part(cosines, cal)
    if similar is None:
        # Without embeddings a reference's title serves as one more phrase.
        similar = fusion.lexical_part(index.score([r.title for r in references]), cal)
    fused = fusion.mix(lexical, semantic, lexical_weight) if semantic is not None else lexical
    by_term = forms.term_scores(lexical_every, raw, lexical_weight, cal)
    lifts, best = forms.lifts(by_term, cosines, cal)
    if lifts and semantic is None:
        fused = fused.copy()  # ``mix`` made a new matrix; this one is ``lexical`` itself
    for phrase, lift in lifts.items():
        np.maximum(fused[rows[phrase]], lift, out=fused[rows[phrase]])
    return BatchScores(
        papers=papers,
        index=index,
        rows=rows,
        lexical=lexical,
        cosines=cosines,
        semantic_parts=semantic,
        fused=fused,
        refs={r.key: i for i, r in enumerate(references)},
        similar=similar,
        ref_titles={r.key: r.title for r in references},
        word_hits={e: index.containing(e) for e in dict.fromkeys(excludes)},
        positions={p.key: i for i, p in enumerate(papers)},
        upvotes=np.array([p.upvotes or 0 for p in papers], dtype=np.int64),
        by_author=_authors(papers),
        aliases=dict(aliases or {}),
        field_terms=forms.terms,
        field_lift=lifts,
        field_best=best,
        vectors=vectors,
        ref_vectors=ref_vectors,
        ref_papers=references,
    )


def phrases_to_embed(
    papers: Sequence[Paper],
    topics: Sequence[str],
    excludes: Sequence[str] = (),
    vocabulary: fields.Vocabulary | None = None,
    plain: Sequence[str] = (),
) -> list[str]:
    """Every text ``score_batch`` embeds for ``topics``, ``excludes`` and ``plain`` phrases
    against ``papers``: the phrases, their spelt-out forms and the terms of the fields that
    topics name (so vectors can be computed ahead, in a process of their own)."""
    topics = list(dict.fromkeys(topics))
    phrases = list(dict.fromkeys([*topics, *excludes, *plain]))
    return _variants(phrases, topics, _lexical_index(list(papers))[1], vocabulary).every


@dataclass(frozen=True)
class _Variants:
    """The texts scored for each phrase: itself, its acronyms spelt out, its field's terms."""

    phrases: list[str]
    spelt: dict[str, str]  # phrase -> the same with known acronyms spelt out
    terms: dict[str, tuple[str, ...]]  # topic naming a field -> that field's terms
    every: list[str]  # every text to score, phrases first (so a phrase's row is the same)
    at: dict[str, int]  # text -> its row in matrices over ``every``
    term_rows: dict[str, int]  # field term -> its row in matrices over the terms

    def fold(self, matrix: np.ndarray) -> np.ndarray:
        """A matrix over ``every`` text -> one over ``phrases``, each row the better of the
        phrase and its spelt-out form."""
        plain = matrix[: len(self.phrases)]
        if not self.spelt:
            return plain
        other = np.array([self.at[self.spelt.get(p, p)] for p in self.phrases], dtype=np.int64)
        return np.asarray(np.maximum(plain, matrix[other]))

    def term_scores(
        self,
        lexical: np.ndarray,
        cosines: np.ndarray | None,
        lexical_weight: float,
        cal: fusion.Calibration,
    ) -> np.ndarray:
        """The fused score of every field term (terms x papers), each term calibrated alone."""
        rows = np.array([self.at[t] for t in self.term_rows], dtype=np.int64)
        lex = lexical[rows]
        if cosines is None:
            return lex
        return fusion.mix(lex, fusion.semantic_part(cosines[rows], cal), lexical_weight)

    def lifts(
        self, by_term: np.ndarray, cosines: np.ndarray | None, cal: fusion.Calibration
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """What each field-naming topic's field adds, per paper: ``field_weight`` times its
        best term's score, counted (with embeddings) only on papers at least loosely close
        in meaning to the field's name (``cosines`` over ``phrases``); and which term that
        was (an index into the topic's terms)."""
        lifts: dict[str, np.ndarray] = {}
        best: dict[str, np.ndarray] = {}
        if cal.field_weight <= 0:
            return lifts, best
        for phrase, terms in self.terms.items():
            scores = by_term[[self.term_rows[t] for t in terms]]
            best[phrase] = scores.argmax(axis=0)
            lift = cal.field_weight * scores.max(axis=0)
            if cosines is not None:
                closeness = cosines[self.at[phrase]]
                lift *= fusion.ramp(closeness, cal.field_gate_low, cal.field_gate_high)
            lifts[phrase] = lift
        return lifts, best


def _variants(
    phrases: list[str],
    topics: list[str],
    known: dict[str, str],
    vocabulary: fields.Vocabulary | None,
) -> _Variants:
    """The variants of ``phrases``; only ``topics`` (not excludes) widen to their field."""
    spelt = {p: e for p in phrases if (e := acronyms.expand(p, known))}
    terms = {p: ts for p in topics if (ts := fields.terms(p, vocabulary))}
    term_list = list(dict.fromkeys(t for ts in terms.values() for t in ts))
    every = list(dict.fromkeys([*phrases, *spelt.values(), *term_list]))
    return _Variants(
        phrases,
        spelt,
        terms,
        every,
        at={t: i for i, t in enumerate(every)},
        term_rows={t: i for i, t in enumerate(term_list)},
    )


def _semantic(
    embedder: Embedder,
    papers: list[Paper],
    phrases: list[str],
    references: list[Paper],
    cache: VectorCache,
    cal: fusion.Calibration,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Phrase-to-paper cosines (one matrix product), reference closeness if any, and the
    paper and reference vectors."""
    paper_vectors = embed_papers(embedder, papers, cache)
    cosines = np.zeros((0, len(papers)), dtype=np.float32)
    phrase_vectors = np.zeros((0, paper_vectors.shape[1]), dtype=np.float32)
    if phrases:
        phrase_vectors = embed_phrases(embedder, phrases, cache)
        cosines = phrase_vectors @ paper_vectors.T
    if not references:
        return cosines, None, paper_vectors, None
    ref_vectors = embed_papers(embedder, references, cache)
    near = fusion.ramp(ref_vectors @ paper_vectors.T, cal.like_low, cal.like_high)
    return cosines, near, paper_vectors, ref_vectors


def author_name(author: str) -> str:
    """An author's name folded for comparison: case, accents, dots, commas and spacing."""
    return " ".join(fold(author).replace(".", " ").replace(",", " ").split())


def _authors(papers: Sequence[Paper]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, paper in enumerate(papers):
        for author in paper.authors:
            out.setdefault(author_name(author), []).append(i)
    return out


_last_index: list[tuple[list[Paper], LexicalIndex, dict[str, str]]] = []


def _lexical_index(papers: list[Paper]) -> tuple[LexicalIndex, dict[str, str]]:
    """The index of ``papers`` and the acronyms they define, reused while consecutive batches
    score the same papers.

    An issue run scores batch after batch of subscribers against one candidate list; indexing
    those papers again for every batch was a tenth of the run. Papers are immutable, so equal
    lists give equal indexes.
    """
    if _last_index and _last_index[0][0] == papers:
        return _last_index[0][1], _last_index[0][2]
    index = LexicalIndex(papers)
    known = acronyms.definitions(f"{p.title}. {p.abstract}" for p in papers)
    _last_index[:] = [(papers, index, known)]
    return index, known
