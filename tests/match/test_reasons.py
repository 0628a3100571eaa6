"""Reasons worth reading: a pick cites what matched (a phrase, a field's term, a liked paper),
never one common word; a paper whose only link to the reader is one such word, or a word its
abstract says once in passing, is not sent, so a thin day sends fewer papers."""

from __future__ import annotations

from newsletter.config import MatchSettings
from newsletter.match import Matcher
from newsletter.models import Paper, Subscriber
from tests.match.conftest import paper

LEXICAL = MatchSettings(semantic=False)

# A day of papers most of which say "learning" and "potential" somewhere.
CROWD = [
    paper(f"Study {n} of {subject}", f"We report learning results with potential in {subject}.")
    for n, subject in enumerate(
        ["graph coloring", "weather forecasts", "protein design", "compilers", "auctions",
         "traffic", "chess engines", "speech codecs", "crop yields", "epidemics"]
    )
]
IMITATION = paper("Imitation learning from few demonstrations",
                  "A robot arm learns by imitation learning from demonstrations.")
MEMBRANE = paper("Membrane potential dynamics of cortical neurons",
                 "We record the membrane potential of neurons in vivo.")
GPU = paper("Accurate logarithms of Bessel functions on GPUs",
            "Numerics for GPUs, useful in physics, statistics and robotics.")
ROBOTS = paper("Grasping with soft robotics hands",
               "Soft robotics grippers grasp objects; robotics benchmarks follow.")


def picks_for(*topics: str, papers: list[Paper]) -> list[tuple[str, tuple[str, ...]]]:
    sub = Subscriber(email="ada@example.org", topics=topics)
    return [(p.paper.title, p.reasons) for p in Matcher(LEXICAL).match(sub, papers)]


def test_one_common_word_is_no_link_and_no_reason() -> None:
    picks = picks_for("imitation learning", "membrane potential",
                      papers=[*CROWD, IMITATION, MEMBRANE])
    assert [title for title, _ in picks] == [IMITATION.title, MEMBRANE.title]
    assert picks[0][1] == ("title matches 'imitation learning'",)
    assert picks[1][1] == ("title matches 'membrane potential'",)


def test_a_word_the_abstract_says_once_in_passing_links_nothing() -> None:
    picks = picks_for("robotics", papers=[*CROWD, GPU, ROBOTS])
    assert [title for title, _ in picks] == [ROBOTS.title]
    # beside the field's name, the field's own term that the paper holds
    assert picks[0][1] == ("title matches 'robotics'",
                           "title matches 'soft robotics', part of 'robotics'")


def test_a_thin_day_sends_fewer_papers_not_leftovers() -> None:
    picks = picks_for("imitation learning", papers=[*CROWD, IMITATION])
    assert [title for title, _ in picks] == [IMITATION.title]
    no_link = picks_for("membrane potential", papers=CROWD)
    assert no_link == []  # the quiet-day rule, not ten papers that say "potential"


def test_an_acronym_said_once_still_counts() -> None:
    pde = paper("Operators for fluid flow", "We learn solution operators of PDEs on meshes.")
    picks = picks_for("PDEs", papers=[*CROWD, pde])
    assert picks == [(pde.title, ("abstract mentions 'PDEs'",))]


def test_on_the_seed_pages_no_card_rests_on_one_common_word(seed_papers: list[Paper]) -> None:
    """The cases readers saw: a GPU numerics paper sent to a robotics reader because its
    abstract says "robotics" once, "AI" standing for "AI ethics", "optimization" in passing."""
    matcher = Matcher(LEXICAL)
    sent = {
        topic: {p.paper.title: p.reasons for p in matcher.match(
            Subscriber(email="ada@example.org", topics=(topic,)), seed_papers)}
        for topic in ("robotics", "AI ethics", "optimization", "exploration")
    }
    gpu = "Accurate Computation of the Logarithm of Modified Bessel Functions on GPUs"
    assert gpu not in sent["robotics"]
    brain = "A brain basis of dynamical intelligence"
    assert not any(title.startswith(brain) for title in sent["AI ethics"])
    index = matcher.score([], seed_papers, {}, {}).index
    for topic, picks in sent.items():
        for title, reasons in picks.items():
            for reason in reasons:
                said = reason.rsplit(": ", 1)[-1] if reason.startswith("shares") else ""
                said = said or reason.removeprefix("abstract mentions '").rstrip("'")
                assert not (" " not in said and index.generic(said)
                            and not reason.startswith("title")), (topic, title, reason)
