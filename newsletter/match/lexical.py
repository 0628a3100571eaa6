"""Lexical relevance: BM25F over title, field labels and abstract, with bigrams for phrase
awareness (a paper's labels, when a language model gave it some, and the names of its arXiv
categories, when the arXiv API gave them, count as a field of their own).

A phrase's score for a paper is the IDF-weighted share of its terms (words and adjacent word
pairs) that the paper holds, each saturated BM25-style: 0 means no term, near 1 means the
whole phrase, repeatedly or in the title.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newsletter.arxiv_taxonomy import names
from newsletter.match.words import contains_phrase, phrase_words, surface, terms, words
from newsletter.models import Paper
from newsletter.wording import clip

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 3.0
LABEL_WEIGHT = 1.0  # chosen on the development split with the recorded labels
# arXiv category names count as labels do (not measured: no real arXiv metadata here)
CATEGORY_WEIGHT = 1.0
CATEGORY_COMMON = 0.5  # a category name held by this share of the day's papers says nothing
MIN_IDF = 0.05
QUOTE_LIMIT = 60  # characters of a topic quoted in a reason
# A word in at least this share of the day's papers (and at least GENERIC_MIN of them) is
# common: alone ("learning", "potential", "optimization" in an abstract) it tells nothing
# about a paper, so it is never a reason and never links a paper to a reader by itself.
GENERIC_SHARE = 0.08
GENERIC_MIN = 3
THIN_ONCE = True
ACRONYM = re.compile(r"[A-Za-z]*[A-Z][A-Za-z]*[A-Z][A-Za-z0-9]*")  # "NeRF", "PDEs", "fMRI"
_CHUNK = 20_000  # gathered term rows per block: bounds memory for 10k-subscriber batches


@dataclass(frozen=True)
class PaperWords:
    """A paper's stemmed words, kept for phrase checks and explanations."""

    title: list[str]
    abstract: list[str]
    labels: list[list[str]]  # each label's words (a model's labels, then category names)


def field_texts(papers: Sequence[Paper]) -> list[list[tuple[str, str, float]]]:
    """Each paper's field text: each label a language model gave it, then each name of its
    arXiv categories, with how a reason says it and its weight. A category name that half of
    ``papers`` hold ("Computer Science" on a day of computer science) tells nothing about one
    of them and is left out; a rarer one stays even when it is not rare ("Computation and
    Language" on a third of the papers is still their field, as arXiv says, where a word
    that common is no reason)."""
    named = [names(p.categories) for p in papers]
    held = Counter(name for found in named for name in found)
    bar = max(GENERIC_MIN, CATEGORY_COMMON * len(papers))
    return [
        [*((text, "labelled", LABEL_WEIGHT) for text in p.labels),
         *((text, "arXiv category", CATEGORY_WEIGHT) for text in found if held[text] < bar)]
        for p, found in zip(papers, named, strict=True)
    ]


class LexicalIndex:
    """Term statistics of a set of candidate papers, scored against many phrases at once."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        self._labels = field_texts(papers)
        self.docs = [
            PaperWords(words(p.title), words(p.abstract), [words(x[0]) for x in labels])
            for p, labels in zip(papers, self._labels, strict=True)
        ]
        self.size = len(papers)
        self._postings: dict[str, list[tuple[int, float]]] = {}
        lengths = np.zeros(self.size, dtype=np.float32)
        for i, paper in enumerate(papers):
            tf = Counter({t: TITLE_WEIGHT * c for t, c in Counter(terms(paper.title)).items()})
            tf.update(terms(paper.abstract))
            for label, _, weight in self._labels[i]:
                tf.update({t: weight * c for t, c in Counter(terms(label)).items()})
            lengths[i] = sum(tf.values())
            for term, count in tf.items():
                self._postings.setdefault(term, []).append((i, count))
        average = float(lengths.mean()) if self.size else 1.0
        self._norm = K1 * (1 - B + B * lengths / max(average, 1.0))

    def idf(self, term: str) -> float:
        df = len(self._postings.get(term, ()))
        return max(MIN_IDF, math.log(1 + (self.size - df + 0.5) / (df + 0.5)))

    def _row(self, term: str) -> np.ndarray:
        row = np.zeros(self.size, dtype=np.float32)
        for i, tf in self._postings.get(term, ()):
            row[i] = tf / (tf + self._norm[i])
        return row

    def score(self, phrases: Sequence[str]) -> np.ndarray:
        """A (phrases x papers) matrix of scores in [0, 1)."""
        bags = [sorted(set(terms(p))) for p in phrases]
        vocab = sorted({t for bag in bags for t in bag})
        where = {t: i for i, t in enumerate(vocab)}
        rows = np.stack([self._row(t) for t in vocab]) if vocab else np.zeros((0, self.size))
        out = np.zeros((len(phrases), self.size), dtype=np.float32)
        for start, stop in _blocks([len(b) for b in bags], _CHUNK):
            chunk = bags[start:stop]
            index = np.array([where[t] for bag in chunk for t in bag], dtype=np.int64)
            if index.size == 0:
                continue
            weight = np.array([self.idf(t) for bag in chunk for t in bag], dtype=np.float32)
            offsets = np.cumsum([0] + [len(b) for b in chunk[:-1]])
            filled = [j for j, b in enumerate(chunk) if b]
            sums = np.add.reduceat(rows[index] * weight[:, None], offsets[filled], axis=0)
            totals = np.add.reduceat(weight, offsets[filled])
            out[[start + j for j in filled]] = sums / totals[:, None]
        return out

    def explain(self, phrase: str, paper: int) -> str:
        """Where the phrase occurs in one paper, for a reader: title, abstract or some words;
        "" when the paper holds none of its words, or only one common word (``generic``)
        outside its title: that says nothing about the paper."""
        doc = self.docs[paper]
        for field, where in ((doc.title, "title matches"), (doc.abstract, "abstract mentions")):
            run = longest_run(phrase, field)
            if run == phrase or len(run.split()) >= 2:
                if field is doc.abstract and self.weak(run, paper):
                    break
                return f"{where} '{quoted(run)}'"
        for label, (text, how, _) in zip(doc.labels, self._labels[paper], strict=True):
            if contains_phrase(label, phrase_words(phrase)):
                return f"{how} '{quoted(text)}'"
        shown = self.shared(phrase, paper)
        if len(shown) == 1 and self.weak(shown[0], paper, title=False):
            return ""
        if shown:
            return f"shares words with '{quoted(phrase)}': {', '.join(shown[:6])}"
        return ""

    def shared(self, phrase: str, paper: int) -> list[str]:
        """The words of ``phrase``, as written, that the paper's title or abstract holds."""
        doc = self.docs[paper]
        have = set(doc.title) | set(doc.abstract)
        written = dict.fromkeys(m.group() for m in surface(phrase))
        return [w for w in written if set(phrase_words(w)) & have]

    def generic(self, word: str) -> bool:
        """Whether a written word is common among these papers (see ``GENERIC_SHARE``)."""
        stems = phrase_words(word)
        bar = max(GENERIC_MIN, GENERIC_SHARE * self.size)
        return bool(stems) and all(len(self._postings.get(s, ())) >= bar for s in stems)

    def only_common(self, phrase: str, paper: int) -> bool:
        """Whether all the paper shares with ``phrase`` is one common word outside its title:
        no reason, and no link between the paper and the phrase."""
        return bool(self.shared(phrase, paper)) and not self.explain(phrase, paper)

    def weak(self, word: str, paper: int, title: bool = True) -> bool:
        """Whether one written word says little about a paper: a common one (``generic``),
        or one its abstract says once in passing (an acronym aside, and outside its title
        unless ``title`` is False)."""
        stems = phrase_words(word)
        if len(stems) != 1:
            return False
        doc = self.docs[paper]
        if self.generic(word):
            return True
        if THIN_ONCE and not ACRONYM.fullmatch(word) and (not title or stems[0] not in doc.title):
            return doc.abstract.count(stems[0]) <= 1
        return False

    def containing(self, phrase: str) -> np.ndarray:
        """Which papers hold every word and word pair of ``phrase`` (a boolean row)."""
        out = np.zeros(self.size, dtype=bool)
        bags = [{i for i, _ in self._postings.get(t, ())} for t in set(terms(phrase))]
        if bags:
            out[sorted(set.intersection(*bags))] = True
        return out


def quoted(text: str, limit: int = QUOTE_LIMIT) -> str:
    """A phrase as a reason quotes it: a long sentence cut at a word, with an ellipsis."""
    return clip(" ".join(text.split()), limit, ",;:")


def longest_run(phrase: str, field: list[str]) -> str:
    """The whole phrase if ``field`` holds it, else its longest run of written words it holds."""
    if contains_phrase(field, phrase_words(phrase)):
        return phrase
    parts = [(m, phrase_words(m.group())) for m in surface(phrase)]
    for size in range(len(parts), 0, -1):
        for start in range(len(parts) - size + 1):
            run = parts[start : start + size]
            if contains_phrase(field, [s for _, ws in run for s in ws]):
                return phrase[run[0][0].start() : run[-1][0].end()]
    return ""


def _blocks(sizes: Sequence[int], limit: int) -> list[tuple[int, int]]:
    """Split consecutive items into runs whose sizes add up to at most ``limit`` (at least one)."""
    runs: list[tuple[int, int]] = []
    start, total = 0, 0
    for i, size in enumerate(sizes):
        if total + size > limit and i > start:
            runs.append((start, i))
            start, total = i, 0
        total += size
    if start < len(sizes):
        runs.append((start, len(sizes)))
    return runs
