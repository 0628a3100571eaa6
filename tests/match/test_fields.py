"""Topics that name a field are also scored by the field's own terms, and say so."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from newsletter.config import Config, MatchSettings
from newsletter.errors import ConfigError
from newsletter.match import Matcher, MemoryCache, fields
from newsletter.match import fuse as fusion
from newsletter.match.scores import phrases_to_embed
from newsletter.match.semantic import Embedder
from newsletter.models import Paper, Subscriber
from tests.match.conftest import paper

OURS = {
    "fields": [
        {"names": ["astronomy", "astro"], "terms": ["exoplanet", "galaxy cluster"]},
        {"names": ["tissue mechanics"], "terms": ["traction force", "focal adhesion"]},
    ]
}
PAPERS = [
    paper("Mass-radius relationships for solid exoplanets"),
    paper("Weak lensing masses of galaxy clusters"),
    paper("Traction force microscopy of migrating cells"),
    paper("Transformers for protein folding"),
]


@pytest.fixture
def ours(tmp_path: Path) -> MatchSettings:
    """Words-only matching with an operator's field file."""
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(OURS), encoding="utf-8")
    return MatchSettings(semantic=False, fields=str(path))


def reader(*topics: str, **more: object) -> Subscriber:
    return Subscriber(email="a@example.org", topics=topics, **more)  # type: ignore[arg-type]


def titles(picks: list) -> list[str]:  # type: ignore[type-arg]
    return [p.paper.title for p in picks]


def test_the_packaged_vocabulary_is_well_formed() -> None:
    known = fields.packaged()
    assert len(known) >= 300
    assert all(0 < len(terms) <= fields.MAX_TERMS for terms in known.values())
    # Names are folded: case, plurals and hyphens do not matter; an unknown phrase has none.
    assert fields.terms("Astronomy") == fields.terms("astronomy") != ()
    assert fields.terms("NLP") == fields.terms("natural language processing") != ()
    assert fields.terms("spiking neural networks for keyword spotting") == ()


def test_a_field_named_in_one_word_finds_papers_that_never_say_it(ours: MatchSettings) -> None:
    picks = Matcher(ours).match(reader("astronomy"), PAPERS)
    assert titles(picks) == [
        "Mass-radius relationships for solid exoplanets",
        "Weak lensing masses of galaxy clusters",
    ]
    assert picks[0].tags == ("astronomy",)
    assert picks[0].reasons == ("title matches 'exoplanet', part of 'astronomy'",)
    # A field term counts less than the topic itself would.
    assert picks[0].score == pytest.approx(fusion.DEFAULT.field_weight)


def test_the_operator_adds_fields_and_replaces_packaged_ones(ours: MatchSettings) -> None:
    matcher = Matcher(ours)
    assert fields.terms("astronomy") != ("exoplanet", "galaxy cluster")  # packaged
    assert matcher.vocabulary[fields.key("astronomy")] == ("exoplanet", "galaxy cluster")
    assert matcher.vocabulary[fields.key("astro")] == ("exoplanet", "galaxy cluster")
    assert fields.key("robotics") in matcher.vocabulary  # the packaged fields stay
    picks = matcher.match(reader("tissue mechanics"), PAPERS)
    assert titles(picks) == ["Traction force microscopy of migrating cells"]


def test_a_field_weight_of_zero_turns_fields_off(ours: MatchSettings) -> None:
    matcher = Matcher(ours, cal=replace(fusion.DEFAULT, field_weight=0.0))
    assert matcher.match(reader("astronomy"), PAPERS) == []
    # nor is a field named as the reason for a paper another topic brought
    picks = matcher.match(reader("astronomy", "exoplanets"), PAPERS)
    assert [p.tags for p in picks] == [("exoplanets",)]
    assert not any("part of 'astronomy'" in r for p in picks for r in p.reasons)


def test_names_are_folded_without_stemming() -> None:
    assert fields.key("Spiking Neural Networks") == fields.key("spiking-neural network")
    assert fields.key("LLMs") == fields.key("LLM") and fields.key("OR/MS") == "or ms"
    assert fields.key("sensing") != fields.key("sense")
    assert fields.terms("MS") == () and fields.terms("networks") == ()


def test_an_exclude_that_names_a_field_drops_only_its_own_words(ours: MatchSettings) -> None:
    picks = Matcher(ours).match(reader("exoplanets", "galaxy clusters", exclude=("astro",)), PAPERS)
    assert len(picks) == 2


def test_field_terms_are_embedded_ahead_with_the_phrases(ours: MatchSettings) -> None:
    vocabulary = Matcher(ours).vocabulary
    texts = phrases_to_embed(PAPERS, ["astronomy", "protein folding"], ["astro"], vocabulary)
    assert texts == ["astronomy", "protein folding", "astro", "exoplanet", "galaxy cluster"]
    # An exclude is never widened, so its field's terms are not embedded for it.
    assert phrases_to_embed(PAPERS, ["protein folding"], ["astro"], vocabulary)[-1] == "astro"


def test_the_file_is_found_next_to_the_config(
    tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    (tmp_path / "ours.json").write_text(json.dumps(OURS), encoding="utf-8")
    config = make_config({"match": {"fields": "ours.json", "semantic": False}})
    assert config.match.fields == str(tmp_path / "ours.json")
    assert fields.key("tissue mechanics") in Matcher(config.match).vocabulary


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe", "not UTF-8 text"),
        (b'{"fields": {}}', 'needs a list under "fields"'),
        (b'{"fields": [{"names": ["x"]}]}', "fields[0].terms must be a non-empty list"),
        (b'{"fields": [{"names": ["x"], "terms": ["a", 3]}]}', "fields[0].terms holds an entry"),
        (b'{"fields": [{"names": [" "], "terms": ["a"]}]}', "fields[0].names holds an entry"),
        (
            b'{"fields": [{"names": ["Geology"], "terms": ["rock"]}, '
            b'{"names": ["geologies"], "terms": ["fault"]}]}',
            "fields[1]: name 'geologies' is given twice",
        ),
        (
            json.dumps({"fields": [{"names": ["x"], "terms": [f"t{i}" for i in range(51)]}]}),
            "fields[0].terms has more than 50 terms",
        ),
        (b"[" * 100_000, "nested too deeply"),
        (b"x" * (fields.MAX_BYTES + 1), "larger than 5,000,000 bytes"),
        (b'{"fields": [{"names": ["--"], "terms": ["a"]}]}', "no letters or digits"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(
    tmp_path: Path, content: bytes | str, problem: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError) as caught:
        Matcher(MatchSettings(semantic=False, fields=str(path)))
    message = str(caught.value)
    assert message.startswith(f"match.fields {str(path)!r}: ") and problem in message
    assert "\n" not in message


def test_a_missing_file_or_a_folder_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"
    with pytest.raises(ConfigError, match=r"nowhere\.json'?: file not found$"):
        Matcher(MatchSettings(semantic=False, fields=str(path)))
    with pytest.raises(ConfigError, match=r"cannot read: Is a directory$"):
        Matcher(MatchSettings(semantic=False, fields=str(tmp_path)))


def test_a_byte_order_mark_is_allowed_and_an_edited_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "fields.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(OURS).encode())
    assert fields.vocabulary(str(path))[fields.key("tissue mechanics")] == (
        "traction force",
        "focal adhesion",
    )
    edited = {"fields": [{"names": ["tissue mechanics"], "terms": ["cell migration"]}]}
    path.write_text(json.dumps(edited), encoding="utf-8")
    assert fields.vocabulary(str(path))[fields.key("tissue mechanics")] == ("cell migration",)


@pytest.mark.slow
def test_one_readers_field_is_not_another_readers_exclude(
    embedder: Embedder, seed_papers: list[Paper]
) -> None:
    """With meaning on, in one batch: Ada's topic "astronomy" widens, Bob's exclude of it
    does not, and each gets what they would get alone."""
    matcher = Matcher(MatchSettings(), embedder, MemoryCache())
    ada = Subscriber(email="ada@example.org", topics=("astronomy",))
    bob = Subscriber(
        email="bob@example.org",
        topics=("stellar spectroscopy", "exoplanets"),
        exclude=("astronomy",),
    )
    both = matcher.match_many([ada, bob], seed_papers)
    assert both[ada.email] == matcher.match(ada, seed_papers)
    assert both[bob.email] == matcher.match(bob, seed_papers)
    assert any("part of 'astronomy'" in r for p in both[ada.email] for r in p.reasons)


def test_a_running_matcher_sees_an_edited_file_and_keeps_the_last_good_one(
    ours: MatchSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """A long-running ``serve`` needs no restart for an edit, and a broken edit does not stop
    its runs: the fields read before stay, with one warning until the file is fixed."""
    matcher = Matcher(ours)
    tissue = reader("tissue mechanics")
    assert titles(matcher.match(tissue, PAPERS)) == ["Traction force microscopy of migrating cells"]
    path = Path(ours.fields)
    edited = {"fields": [{"names": ["tissue mechanics"], "terms": ["protein folding"]}]}
    path.write_text(json.dumps(edited), encoding="utf-8")
    assert titles(matcher.match(tissue, PAPERS)) == ["Transformers for protein folding"]
    path.write_text('{"fields": [', encoding="utf-8")
    with caplog.at_level("WARNING", logger="newsletter.match.fields"):
        assert titles(matcher.match(tissue, PAPERS)) == ["Transformers for protein folding"]
        assert titles(matcher.match(tissue, PAPERS)) == ["Transformers for protein folding"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "keeping the fields read before" in warnings[0]
    assert warnings[0].startswith(f"match.fields {str(path)!r}: invalid JSON")
