"""Topics that name a field are also scored by the field's own terms, and say so."""

from __future__ import annotations

from dataclasses import replace

import pytest

from newsletter.config import MatchSettings
from newsletter.match import Matcher, fields
from newsletter.match import fuse as fusion
from newsletter.match.scores import phrases_to_embed
from newsletter.models import Subscriber
from tests.match.conftest import paper

LEXICAL = MatchSettings(semantic=False)
FIELDS = {
    fields.key("astronomy"): ("exoplanet", "galaxy cluster", "stellar evolution"),
    fields.key("robotics"): ("grasping", "legged locomotion"),
}
PAPERS = [
    paper("Mass-radius relationships for solid exoplanets"),
    paper("Weak lensing masses of galaxy clusters"),
    paper("Grasping transparent objects from depth images"),
    paper("Transformers for protein folding"),
]


@pytest.fixture
def vocabulary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fields, "vocabulary", lambda: FIELDS)


def titles(picks: list) -> list[str]:  # type: ignore[type-arg]
    return [p.paper.title for p in picks]


def test_the_packaged_vocabulary_is_well_formed() -> None:
    fields.vocabulary.cache_clear()
    known = fields.vocabulary()
    assert len(known) >= 200
    assert all(terms and all(t.strip() for t in terms) for terms in known.values())
    # Names are folded: case, plurals and hyphens do not matter; an unknown phrase has none.
    assert fields.terms("Astronomy") == fields.terms("astronomy") != ()
    assert fields.terms("NLP") == fields.terms("natural language processing") != ()
    assert fields.terms("spiking neural networks for keyword spotting") == ()


@pytest.mark.usefixtures("vocabulary")
def test_a_field_named_in_one_word_finds_papers_that_never_say_it() -> None:
    picks = Matcher(LEXICAL).match(Subscriber(email="a@example.org", topics=("astronomy",)), PAPERS)
    assert titles(picks) == [
        "Mass-radius relationships for solid exoplanets",
        "Weak lensing masses of galaxy clusters",
    ]
    assert picks[0].tags == ("astronomy",)
    assert picks[0].reasons == ("title matches 'exoplanet', part of 'astronomy'",)
    # A field term counts less than the topic itself would.
    assert picks[0].score == pytest.approx(fusion.DEFAULT.field_weight)


@pytest.mark.usefixtures("vocabulary")
def test_a_field_weight_of_zero_turns_fields_off() -> None:
    cal = replace(fusion.DEFAULT, field_weight=0.0)
    matcher = Matcher(LEXICAL, cal=cal)
    assert matcher.match(Subscriber(email="a@example.org", topics=("astronomy",)), PAPERS) == []


@pytest.mark.usefixtures("vocabulary")
def test_an_exclude_that_names_a_field_drops_only_its_own_words() -> None:
    reader = Subscriber(
        email="a@example.org", topics=("exoplanets", "grasping"), exclude=("robotics",)
    )
    picks = Matcher(LEXICAL).match(reader, PAPERS)
    assert "Grasping transparent objects from depth images" in titles(picks)


@pytest.mark.usefixtures("vocabulary")
def test_field_terms_are_embedded_ahead_with_the_phrases() -> None:
    texts = phrases_to_embed(PAPERS, ["robotics", "protein folding"])
    assert texts[:2] == ["robotics", "protein folding"]
    assert set(texts[2:]) == {"grasping", "legged locomotion"}
