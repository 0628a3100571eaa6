"""Readers who give papers, not words, built from the held-out graded profiles (issue 28).

Two labelled setups, each printed for the dev and the frozen test split:

- library readers: each profile with at least four papers graded strongly relevant becomes a
  reader with three of them (chosen with a fixed seed) as their library and no topics; they are
  judged on the other papers with the same grades;
- a feedback loop over the seed days: on each of the first ``FEEDBACK_DAYS`` days the reader's
  issue (that day's new papers) is rated from the grades, "more like this" on the strongly
  relevant delivered papers and "less like this" on the irrelevant ones; the papers new on the
  later days are then matched once with that feedback and once without, and judged.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from newsletter.match import Matcher
from newsletter.match.evaluate import RELEVANT, STRONG, Graded, judge_graded
from newsletter.models import Paper, Pick, Subscriber, normalize_title

LIBRARY_SIZE = 3
SEED = 28
FEEDBACK_DAYS = 3


@dataclass
class Reader:
    """One simulated reader: who they are, what they gave, how their papers are graded."""

    profile: dict[str, Any]
    subscriber: Subscriber
    feedback: dict[str, int]  # paper key -> +1 / -1
    references: dict[str, Paper]  # their liked, library and rated papers
    grades: dict[str, float]  # normalised title -> averaged grade
    sent: set[str] = field(default_factory=set)


def strong_papers(profile: dict[str, Any]) -> list[str]:
    """The profile's strongly relevant papers (normalised titles), its liked ones aside."""
    return sorted(
        k for k, g in profile["judgments"].items() if g >= STRONG and k not in profile["liked"]
    )


def library_readers(profiles: Sequence[dict[str, Any]], by_title: dict[str, Paper]) -> list[Reader]:
    """Profiles with more than ``LIBRARY_SIZE`` strong papers as library-only readers."""
    out = []
    for p in profiles:
        strong = strong_papers(p)
        if len(strong) <= LIBRARY_SIZE:
            continue
        chosen = random.Random(f"{SEED}:{p['id']}").sample(strong, LIBRARY_SIZE)
        library = {by_title[k].key: by_title[k] for k in chosen}
        sub = Subscriber(email=f"{p['id']}@example.org", topics=(), library=tuple(library))
        grades = {
            k: g for k, g in p["judgments"].items() if k not in chosen and k not in p["liked"]
        }
        out.append(Reader(p, sub, {}, library, grades))
    return out


def topic_readers(profiles: Sequence[dict[str, Any]], by_title: dict[str, Paper]) -> list[Reader]:
    """The profiles as written: topics, excludes, liked papers as "more like this"."""
    out = []
    for p in profiles:
        sub = Subscriber(
            email=f"{p['id']}@example.org", topics=tuple(p["topics"]), exclude=tuple(p["exclude"])
        )
        liked = {by_title[k].key: by_title[k] for k in p["liked"]}
        grades = {k: g for k, g in p["judgments"].items() if k not in p["liked"]}
        out.append(Reader(p, sub, dict.fromkeys(liked, 1), liked, grades))
    return out


def issues(
    matcher: Matcher, readers: Sequence[Reader], papers: Sequence[Paper]
) -> dict[str, list[Pick]]:
    """Each reader's issue from ``papers`` (one scoring pass), given what they were sent,
    their ratings and their liked papers so far."""
    return matcher.match_many(
        [r.subscriber for r in readers],
        papers,
        {r.subscriber.email: r.sent for r in readers},
        {r.subscriber.email: r.feedback for r in readers},
        {k: v for r in readers for k, v in r.references.items()},
    )


def judge_readers(
    matcher: Matcher, readers: Sequence[Reader], papers: Sequence[Paper]
) -> list[Graded]:
    """Each reader's delivered list from ``papers`` (one scoring pass), judged on the papers
    among ``papers`` that their grades cover."""
    picks = issues(matcher, readers, papers)
    shown = {normalize_title(p.title) for p in papers}
    return [
        judge_graded(
            [normalize_title(x.paper.title) for x in picks[r.subscriber.email]],
            {k: g for k, g in r.grades.items() if k in shown},
        )
        for r in readers
    ]


def give_feedback(matcher: Matcher, readers: Sequence[Reader], day: Sequence[Paper]) -> int:
    """One day's issue to each reader, rated from their grades: +1 on the strongly relevant
    delivered papers, -1 on the irrelevant ones. Returns how many ratings were given."""
    picks = issues(matcher, readers, day)
    given = 0
    for r in readers:
        for pick in picks[r.subscriber.email]:
            r.sent.add(pick.paper.key)
            grade = r.grades.get(normalize_title(pick.paper.title), 0.0)
            if grade >= STRONG or grade < RELEVANT:
                r.feedback[pick.paper.key] = 1 if grade >= STRONG else -1
                r.references[pick.paper.key] = pick.paper
                given += 1
    return given


def loop(
    matcher: Matcher, readers: list[Reader], days: Sequence[Sequence[Paper]]
) -> tuple[list[Graded], list[Graded], int]:
    """The later days' new papers judged without and with the first days' feedback, and the
    number of ratings given."""
    later = [p for day in days[FEEDBACK_DAYS:] for p in day]
    without = judge_readers(matcher, readers, later)
    given = sum(give_feedback(matcher, readers, day) for day in days[:FEEDBACK_DAYS])
    return without, judge_readers(matcher, readers, later), given
