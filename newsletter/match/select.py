"""Choose one subscriber's papers from the batch scores: filter, cut, rank, explain.

The cut is per signal: a paper passes when, for one of the reader's topics (or their liked
papers), it scores at least the threshold and at least ``relative`` times that topic's best
score today. A broad topic whose papers all score modestly still delivers its best ones, a
narrow topic delivers only its near-best, and adding a topic never raises another topic's bar.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

from newsletter import library_files
from newsletter.match import fuse as fusion
from newsletter.match import reader
from newsletter.match.lexical import quoted
from newsletter.match.scores import BatchScores, author_name
from newsletter.models import Expansion, Pick, Subscriber

FOLLOWED = "by followed author"  # how a followed author's pick says so
LIKED = "similar to a paper you liked"  # how a pick pulled in by a liked paper says so
REASON_PART = 0.5  # a signal must reach half its range to be named as a reason
FOLLOW_SCORE = 1.0


@dataclass(frozen=True)
class Selection:
    """What the selector needs besides the scores: the threshold and the reader's history."""

    threshold: float
    relative: float = 0.0  # a paper must reach this share of its topic's best score today
    sent: Collection[str] = ()
    feedback: Mapping[str, int] | None = None  # paper key -> +1 liked / -1 disliked
    cal: fusion.Calibration = fusion.DEFAULT
    expansion: Expansion | None = None  # phrases a language model looks for on their behalf
    uncut: int = 0  # > 0: the best this many allowed papers, no threshold (rerank candidates)
    model: reader.ReaderParams = reader.DEFAULT_PARAMS  # the reader model's parameters


def liked_keys(subscriber: Subscriber, feedback: Mapping[str, int] | None) -> list[str]:
    """Papers that pull: the profile's "more like these", its library, papers rated +1."""
    keys = [
        f"arxiv:{p}" if not p.startswith(("arxiv:", "title:")) else p for p in subscriber.papers
    ]
    keys += library_files.expand(subscriber.library)
    keys += [k for k, v in (feedback or {}).items() if v > 0]
    return list(dict.fromkeys(keys))


def disliked_keys(feedback: Mapping[str, int] | None) -> list[str]:
    return [k for k, v in (feedback or {}).items() if v < 0]


def select(subscriber: Subscriber, scores: BatchScores, how: Selection) -> list[Pick]:
    """The subscriber's picks, best first, cut by threshold and ``max_papers``."""
    if not scores.papers:
        return []
    topics = scores.fused[[scores.rows[t] for t in subscriber.topics]]
    more = _expansion_lift(scores, how, subscriber.topics)
    if more is not None:  # the reader's model-written phrases, as one more topic at a discount
        topics = np.vstack([topics, more[None, :]])
    liked = [
        k
        for k in dict.fromkeys(
            scores.aliases.get(k, k) for k in liked_keys(subscriber, how.feedback)
        )
        if k in scores.refs
    ]
    disliked = [
        k for k in dict.fromkeys(scores.aliases.get(k, k) for k in disliked_keys(how.feedback))
        if k in scores.refs
    ]
    known = (tuple(liked), tuple(disliked), how.model)  # trained once a batch per reader
    if known not in scores.models:
        scores.models[known] = _reader_model(scores, liked, disliked, how.model)
    model = scores.models[known]
    learned, cut = model if model is not None else (None, 0.0)
    near = _similar(scores, liked)  # the nearest liked paper's closeness
    if learned is not None and len(topics) and how.model.lean > 0:
        # what the reader's papers taught leans on every topic's score, both ways
        lean = how.model.lean
        topics = topics * np.clip(1.0 + lean * learned, 1.0 - lean, 1.0 + lean)[None, :]
    pull = near
    if learned is not None:  # the reader's model: alone, or at a discount beside topics
        weight = how.model.blend if len(topics) else 1.0
        pull = weight * fusion.ramp(learned, how.model.low, how.model.high)
        if len(topics):
            pull = np.maximum(near, pull)
    signals = np.vstack([topics, near[None, :]])
    # A dislike reorders (papers like the disliked one sink) but never cuts: one click nudges.
    nudge = 1.0 - how.cal.dislike_penalty * _similar(scores, disliked_keys(how.feedback))
    avoided = _model_excluded(scores, how)
    if avoided is not None:
        nudge = nudge * (1.0 - how.cal.phrase_exclude_penalty * avoided)
    score = np.maximum(_topic_score(topics, how.cal), pull) * nudge
    followed = _followed(subscriber, scores)
    score = np.where(followed, np.maximum(score, FOLLOW_SCORE), score)
    allowed = _allowed(subscriber, scores, how, liked)
    threshold, relative = how.threshold, how.relative
    if more is not None:  # more evidence, a higher bar
        threshold, relative = how.cal.expanded_threshold, how.cal.expanded_relative
    bars = np.full((len(signals), 1), threshold, dtype=np.float32)
    share = np.full((len(signals), 1), relative, dtype=np.float32)
    if more is not None:  # the model-written phrases' row (just above ``pull``)
        bars[-2] += how.cal.phrase_bar
        share[-2] = how.cal.phrase_relative
    if learned is None or len(topics):  # topics, and papers close to a liked one
        passes = _passes(signals, allowed, bars, share)
    else:  # a library alone: the model decides, not the nearest liked paper
        passes = np.zeros(len(scores.papers), dtype=bool)
    if learned is not None:
        passes = passes | (learned >= (how.model.topic_cut if len(topics) else cut))
    keep = allowed if how.uncut else allowed & (passes | followed)
    if learned is not None and not how.uncut and not len(topics):
        keep = keep | _floor(learned, allowed, keep, how.model)
    candidates = np.flatnonzero(keep)
    most = how.uncut or subscriber.max_papers
    picks: list[Pick] = []
    for i in candidates[np.argsort(-score[candidates], kind="stable")]:
        pick = _pick(subscriber, scores, int(i), float(score[i]), topics[:, i], pull[i], liked,
                     how.expansion, threshold)
        if pick.reasons or how.uncut:  # no reason: its only link is one common word
            picks.append(pick)
            if len(picks) == most:
                break
    return picks


def _reader_model(
    scores: BatchScores, liked: list[str], disliked: list[str], params: reader.ReaderParams
) -> tuple[np.ndarray, float] | None:
    """The reader model's score of each paper, in standard deviations over today's papers
    (``match/reader.py``), and the least score that delivers; None without positives."""
    if not liked or not scores.papers:
        return None
    rows = [scores.refs[k] for k in liked]
    against = [scores.refs[k] for k in disliked]
    weights = reader.recency([scores.ref_papers[r] for r in rows], params.half_life)
    vectors, words = scores.views(params.shrink)
    share = params.words if vectors is not None else 1.0
    out = np.zeros(len(scores.papers), dtype=np.float32)
    level = 0.0
    others = np.ones(len(scores.papers), dtype=bool)  # today's papers, the reader's own aside
    others[[scores.positions[k] for k in (*liked, *disliked) if k in scores.positions]] = False
    for part, v in ((1.0 - share, vectors), (share, words)):
        if v is None or part <= 0:
            continue
        raw = reader.raw_scores(v, rows, weights, against, params.dislike)
        z, _ = reader.standard(raw, raw[:0], others)
        out += part * z
        if params.relative > 0:  # the positives' own scores, on the same scale
            level += part * _positive_level(scores, v is words, rows,
                                            weights, against, params, raw[others])
    return out, max(params.cut, params.relative * level)


def _positive_level(
    scores: BatchScores, words: bool, rows: list[int], weights: np.ndarray,
    against: list[int], params: reader.ReaderParams, today: np.ndarray,
) -> float:
    """The reader's positives' mean score in one view, in standard deviations of ``today``'s
    scores (the slow path: a direction per reader; only for a relative cut)."""
    if words:
        papers, refs = scores.words()
        mean, inverse = papers.mean(axis=0), None
    else:
        bg = scores.background(params.shrink)
        assert bg is not None and scores.ref_vectors is not None
        refs, mean, inverse = scores.ref_vectors, bg.mean, bg.inverse
    w = reader.direction(mean, inverse, refs[rows], weights, refs[against], params.dislike)
    sd = float(today.std()) or 1.0
    own = refs[rows] @ w - float(mean @ w)
    return float(weights @ own / weights.sum() - (today.mean())) / sd


def _floor(
    learned: np.ndarray, allowed: np.ndarray, keep: np.ndarray, params: reader.ReaderParams
) -> np.ndarray:
    """The reader's best papers by their model, up to ``params.least`` picks in all, among
    those at or above their floor: an issue is thin only when nothing is near what they gave."""
    short = params.least - int(keep.sum())
    out = np.zeros_like(keep)
    if short <= 0:
        return out
    open_ = np.flatnonzero(allowed & ~keep & (learned >= params.floor))
    out[open_[np.argsort(-learned[open_], kind="stable")[:short]]] = True
    return out


def _expansion_lift(
    scores: BatchScores, how: Selection, topics: tuple[str, ...]
) -> np.ndarray | None:
    """``phrase_weight`` times the best score of any of the reader's model-written phrases,
    with embeddings counted only on papers at least loosely close to one of their ``topics``."""
    phrases = how.expansion.phrases if how.expansion else ()
    if not phrases or how.cal.phrase_weight <= 0:
        return None
    rows = scores.fused[[scores.rows[p] for p in phrases]]
    lift = how.cal.phrase_weight * rows.max(axis=0)
    if scores.cosines is not None and topics:
        closeness = scores.cosines[[scores.rows[t] for t in topics]].max(axis=0)
        lift = lift * fusion.ramp(closeness, how.cal.phrase_gate_low, how.cal.phrase_gate_high)
    return np.asarray(lift, dtype=np.float32)


def _model_excluded(scores: BatchScores, how: Selection) -> np.ndarray | None:
    """How close each paper is to the reader's model-written exclude phrases (0 to 1); None
    when they have none or they do not count."""
    phrases = how.expansion.exclude_phrases if how.expansion else ()
    if not phrases or how.cal.phrase_exclude_penalty <= 0:
        return None
    return np.asarray(scores.fused[[scores.rows[p] for p in phrases]].max(axis=0))


def _passes(
    signals: np.ndarray, allowed: np.ndarray, bars: np.ndarray, share: np.ndarray
) -> np.ndarray:
    """Papers that reach their signal's threshold (``bars``) and ``share`` of the day's best
    on some signal."""
    if not allowed.any():
        return allowed
    best = signals[:, allowed].max(axis=1, keepdims=True)
    bar = np.maximum(bars, share * best)
    return np.asarray((signals >= bar).any(axis=0))


def _topic_score(topics: np.ndarray, cal: fusion.Calibration) -> np.ndarray:
    """The best topic's score, plus a little of the second best's."""
    if len(topics) == 0:
        return np.zeros(topics.shape[1], dtype=np.float32)
    if len(topics) == 1:
        return np.asarray(topics[0], dtype=np.float32)
    top2 = np.partition(topics, len(topics) - 2, axis=0)[-2:]
    return np.asarray(np.minimum(top2[1] + cal.second_topic * top2[0], 1.0), dtype=np.float32)


def _similar(scores: BatchScores, keys: list[str]) -> np.ndarray:
    rows = [scores.refs[k] for k in keys if k in scores.refs]
    if not rows:
        return np.zeros(len(scores.papers), dtype=np.float32)
    return np.asarray(scores.similar[rows].max(axis=0), dtype=np.float32)


def _allowed(
    subscriber: Subscriber, scores: BatchScores, how: Selection, liked: list[str]
) -> np.ndarray:
    """Papers that may be sent at all: unseen, popular enough, not excluded."""
    ok = np.ones(len(scores.papers), dtype=bool)
    for key in (*how.sent, *liked, *disliked_keys(how.feedback)):
        if key in scores.positions:
            ok[scores.positions[key]] = False
    if subscriber.min_upvotes > 0:
        ok &= scores.upvotes >= subscriber.min_upvotes
    for phrase in subscriber.exclude:
        ok &= ~scores.word_hits[phrase]
    if subscriber.exclude and scores.cosines is not None:
        rows = [scores.rows[e] for e in subscriber.exclude]
        ok &= ~fusion.excluded_by_meaning(scores.cosines[rows], how.cal).any(axis=0)
    return ok


def _followed(subscriber: Subscriber, scores: BatchScores) -> np.ndarray:
    out = np.zeros(len(scores.papers), dtype=bool)
    for author in subscriber.authors:
        out[scores.by_author.get(author_name(author), [])] = True
    return out


def _pick(
    subscriber: Subscriber,
    scores: BatchScores,
    i: int,
    score: float,
    topic_scores: np.ndarray,
    pull: float,
    liked: list[str],
    expansion: Expansion | None = None,
    bar: float = 0.0,
) -> Pick:
    """The pick of paper ``i`` with its reasons; none when nothing worth saying links it to
    the reader (all it shares with their topics is one common word): it is not sent."""
    paper = scores.papers[i]
    wanted = {author_name(a) for a in subscriber.authors}
    reasons = [f"{FOLLOWED} {a}" for a in paper.authors if author_name(a) in wanted]
    tags = _topic_tags(subscriber, scores, i, score, topic_scores, reasons)
    best_topic = float(topic_scores.max()) if topic_scores.size else 0.0
    if pull > 0 and pull >= best_topic:
        best = max(
            (k for k in liked if k in scores.refs), key=lambda k: scores.similar[scores.refs[k], i]
        )
        title = quoted(scores.ref_titles[best], 90)
        reasons.append(f"{LIKED}: '{title}'")
    own = topic_scores[: len(subscriber.topics)]
    if not tags and expansion and len(topic_scores) > len(own) and topic_scores[-1] >= best_topic:
        reasons.append(_phrase_reason(scores, expansion.phrases, i))
    if not tags and not reasons and subscriber.topics:
        reasons += _fallback_reason(subscriber, scores, i, own, tags, bar)
    via, topic = _brought_by(subscriber, own, tags, reasons)
    return Pick(
        paper=paper, score=round(score, 4), reasons=tuple(dict.fromkeys(reasons)), tags=tuple(tags),
        via=via, topic=topic,
    )


def _brought_by(
    subscriber: Subscriber, own: np.ndarray, tags: list[str], reasons: list[str]
) -> tuple[str, str]:
    """What brought a pick in, for an issue in sections: a liked paper when it scores better
    than any topic (its reason says so), else the topic among those that carry it that it
    scores best on, else a followed author; else (a phrase looked for on the reader's behalf)
    the topic it scores best on."""
    if any(r.startswith(LIKED) for r in reasons):
        return "liked", ""
    if tags:
        return "topic", max(tags, key=lambda t: own[subscriber.topics.index(t)])
    if any(r.startswith(FOLLOWED) for r in reasons):
        return "author", ""
    if own.size:
        return "topic", subscriber.topics[int(np.argmax(own))]
    return "", ""


def _fallback_reason(
    subscriber: Subscriber, scores: BatchScores, i: int, own: np.ndarray, tags: list[str],
    bar: float,
) -> list[str]:
    """Where the words of the reader's topics that reach ``bar`` occur in the paper, best
    first, else what the best of them is related to; a topic whose only link to the paper is
    one common word is left out, and with it, maybe, every reason."""
    order = [int(t) for t in np.argsort(-own, kind="stable") if own[t] >= bar]
    for t in order:
        found = scores.index.explain(subscriber.topics[t], i)
        if found:
            tags.append(subscriber.topics[t])
            return [found]
    for t in order or [int(np.argmax(own))]:
        topic = subscriber.topics[t]
        if not scores.index.only_common(topic, i) or _close(scores, topic, i):
            tags.append(topic)
            return [f"related to '{quoted(topic)}'"]
    return []


def _close(scores: BatchScores, topic: str, i: int) -> bool:
    """Whether the paper is closer in meaning to ``topic`` than unrelated papers are (some
    semantic evidence), when there are embeddings."""
    parts = scores.semantic_parts
    return parts is not None and float(parts[scores.rows[topic], i]) > 0


def _topic_tags(
    subscriber: Subscriber,
    scores: BatchScores,
    i: int,
    score: float,
    topic_scores: np.ndarray,
    reasons: list[str],
) -> list[str]:
    """The topics that carry this pick (their reasons appended to ``reasons``)."""
    tags: list[str] = []
    for t, topic in enumerate(subscriber.topics):
        found = _topic_reasons(scores, topic, i)
        if found and (topic_scores[t] >= REASON_PART * max(score, 1e-9) or not tags):
            reasons += found
            tags.append(topic)
    return tags


def _topic_reasons(scores: BatchScores, topic: str, i: int) -> list[str]:
    row = scores.rows[topic]
    out = []
    if scores.lexical[row, i] >= REASON_PART:
        out.append(scores.index.explain(topic, i))
    parts = scores.semantic_parts
    if parts is not None and parts[row, i] >= REASON_PART:
        out.append(f"close in meaning to '{quoted(topic)}'")
    if topic in scores.field_terms and not any(out):
        out.append(_field_reason(scores, topic, i))
    elif topic in scores.field_terms and out == [scores.index.explain(topic, i)]:
        # one word (the field's name) says less than the field's own term, when it counts
        out.append(_field_reason(scores, topic, i, SUPPORT * scores.fused[row, i]))
    return [r for r in out if r]


SUPPORT = 0.5  # a field term worth naming beside the topic's own word: this share of its score


def _field_reason(scores: BatchScores, topic: str, i: int, bar: float = -1.0) -> str:
    """Why a paper belongs to the field ``topic`` names: the field term it matches best; none
    when the field is not what gave the topic its score (gated out, weighted to 0, or beaten
    by the topic's own evidence), or, given a ``bar``, when its term scores below it."""
    lift = scores.field_lift.get(topic)
    least = bar if bar >= 0 else scores.fused[scores.rows[topic], i]
    if lift is None or lift[i] <= 0 or lift[i] < least:
        return ""
    term = scores.field_terms[topic][int(scores.field_best[topic][i])]
    found = scores.index.explain(term, i)
    if not found and not scores.semantic:  # the term is one common word: no reason
        return ""
    found = found or f"close in meaning to '{term}'"
    return f"{found}, part of '{quoted(topic)}'"


def _phrase_reason(scores: BatchScores, phrases: tuple[str, ...], i: int) -> str:
    """The model-written phrase this paper matches best, as a reason."""
    best = max(phrases, key=lambda p: scores.fused[scores.rows[p], i])
    found = scores.index.explain(best, i) or f"close in meaning to '{quoted(best)}'"
    return f"{found}, one of the phrases looked for from your interests"
