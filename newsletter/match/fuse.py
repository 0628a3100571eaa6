"""Fuse lexical and semantic evidence into one calibrated relevance score in [0, 1].

Both signals are mapped onto [0, 1] first. Cosine similarity is read two ways: as an
absolute value and relative to the same phrase's similarity to the rest of today's papers
(a z-score, shrunk towards a prior when there are few papers), because a phrase like
"neural radiance fields" sits lower on the cosine scale than "spiking neural networks".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """Where each signal starts and stops counting; chosen on the development data in
    tests/data/relevance (never on the held-out test split)."""

    lexical_floor: float = 0.05  # below: a stray shared word, not evidence
    lexical_full: float = 0.50  # above: the phrase is plainly there
    cosine_low: float = 0.25
    cosine_high: float = 0.55
    z_low: float = 1.5
    z_high: float = 4.0
    z_share: float = 0.5  # how much of the semantic part is relative (z) vs absolute
    z_gate_low: float = 0.2  # the relative part counts from this cosine ...
    z_gate_high: float = 0.4  # ... fully from this one
    prior_mean: float = 0.12  # a topic's typical cosine to an unrelated abstract
    prior_sd: float = 0.08
    prior_weight: float = 20.0  # in papers: how strongly few papers lean on the prior
    exclude_z: float = 1.8  # an exclude phrase this far above the crowd drops the paper
    exclude_min_cosine: float = 0.10
    exclude_cosine: float = 0.45  # ... and this close drops it regardless
    like_low: float = 0.45  # paper-to-paper cosine where "more like this" starts to pull
    like_high: float = 0.75
    dislike_penalty: float = 0.4  # times the closeness to a disliked paper
    second_topic: float = 0.1  # bonus, times the second-best topic's score: papers at a crossing
    field_weight: float = 0.7  # a topic naming a field scores this share of its best field term
    field_gate_low: float = 0.1  # ... times a ramp on the paper's closeness to the field's name
    field_gate_high: float = 0.25
    phrase_weight: float = 0.7  # a reader's model-written phrases count this share of a topic
    phrase_gate_low: float = 0.1  # ... times a ramp on the paper's closeness to their topics
    phrase_gate_high: float = 0.25
    phrase_bar: float = 0.0  # their row passes a paper at the threshold plus this ...
    phrase_relative: float = 0.5  # ... and at this share of its best score today
    expanded_threshold: float = 0.4  # a reader with such phrases: the threshold, and ...
    expanded_relative: float = 0.6  # ... the relative cut (more evidence, a higher bar)
    phrase_exclude_penalty: float = 0.0  # times the closeness to a model-written exclude phrase


DEFAULT = Calibration()


def ramp(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """0 at or below ``low``, 1 at or above ``high``, linear between."""
    return np.clip((x - low) / (high - low), 0.0, 1.0).astype(np.float32)


def zscores(
    cosines: np.ndarray, cal: Calibration = DEFAULT, weight: float | None = None
) -> np.ndarray:
    """Each row's values standardised against that row, shrunk towards the prior."""
    k = cal.prior_weight if weight is None else weight
    n = cosines.shape[-1]
    mean = (cosines.sum(axis=-1, keepdims=True) + k * cal.prior_mean) / (n + k)
    centred = cosines - cosines.mean(axis=-1, keepdims=True) if n else cosines
    var = ((centred**2).sum(axis=-1, keepdims=True) + k * cal.prior_sd**2) / (n + k)
    out: np.ndarray = ((cosines - mean) / np.sqrt(var)).astype(np.float32)
    return out


def lexical_part(lexical: np.ndarray, cal: Calibration = DEFAULT) -> np.ndarray:
    return ramp(lexical, cal.lexical_floor, cal.lexical_full)


def semantic_part(cosines: np.ndarray, cal: Calibration = DEFAULT) -> np.ndarray:
    """Closeness read absolutely and relative to the day's papers; standing out from the day
    counts only as far as the paper is also close in absolute terms (the best of a day with
    nothing on the topic is not evidence)."""
    gate = ramp(cosines, cal.z_gate_low, cal.z_gate_high)
    relative = ramp(zscores(cosines, cal), cal.z_low, cal.z_high) * gate
    absolute = ramp(cosines, cal.cosine_low, cal.cosine_high)
    return np.asarray(cal.z_share * relative + (1 - cal.z_share) * absolute, dtype=np.float32)


def mix(lexical: np.ndarray, semantic: np.ndarray, lexical_weight: float) -> np.ndarray:
    """The fused score from the two calibrated parts."""
    return (lexical_weight * lexical + (1 - lexical_weight) * semantic).astype(np.float32)


def fuse(
    lexical: np.ndarray,
    cosines: np.ndarray | None,
    lexical_weight: float,
    cal: Calibration = DEFAULT,
) -> np.ndarray:
    """The fused (phrases x papers) score from raw signals; lexical alone without embeddings."""
    lex = lexical_part(lexical, cal)
    if cosines is None:
        return lex
    return mix(lex, semantic_part(cosines, cal), lexical_weight)


def excluded_by_meaning(cosines: np.ndarray, cal: Calibration = DEFAULT) -> np.ndarray:
    """A boolean (excludes x papers) matrix: papers close in meaning to an exclude phrase."""
    near = (zscores(cosines, cal, weight=5.0) >= cal.exclude_z) & (
        cosines >= cal.exclude_min_cosine
    )
    return near | (cosines >= cal.exclude_cosine)
