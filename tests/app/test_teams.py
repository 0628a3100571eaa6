"""A team's profile from its members: papers that match any member, each marked with whom it
is for, ranked across members in turns; an unknown member is one line naming the file."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from newsletter.app.issue import history, pick
from newsletter.app.queued_issue import Builder
from newsletter.app.readers import sync_folder, sync_subscribers
from newsletter.app.run import deliver
from newsletter.app.stages import Stages
from newsletter.app.teams import in_turns, member_name
from newsletter.config import Config
from newsletter.delivery.outbox import send_due
from newsletter.errors import SubscriberError
from newsletter.match import Matcher
from newsletter.models import Paper, Pick, Subscriber
from newsletter.store.papers import upsert_papers
from newsletter.store.profiles import get_subscriber, set_status
from tests.app.conftest import add_subscriber, memory_mailer

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BROAD = [Paper(title=f"Graph neural networks for {w}",
               abstract=f"We train graph neural networks on {w} data.")
         for w in ("traffic", "molecules", "social networks", "recommendation", "weather")]
NARROW = [Paper(title=f"Light curves from the {w} survey",
                abstract=f"We find exoplanets in {w} light curves; exoplanets transit often.")
          for w in ("TESS", "Kepler")]


def a_pick(title: str, score: float) -> Pick:
    return Pick(Paper(title=title, abstract=""), score, ("r",))


def test_in_turns_takes_each_lists_best_first_and_marks_a_shared_paper_for_both() -> None:
    ada = [a_pick(f"broad {i}", 0.9) for i in range(5)] + [a_pick("shared", 0.5)]
    lin = [a_pick("shared", 0.8), a_pick("narrow", 0.4)]
    got = in_turns([("Ada", ada), ("Lin", lin)], 4)
    assert [p.paper.title for p in got] == ["broad 0", "shared", "broad 1", "narrow"]
    assert [p.members for p in got] == [("Ada",), ("Ada", "Lin"), ("Ada",), ("Lin",)]
    assert got[1].score == 0.8  # as the list that ranks it highest has it


def test_a_member_is_named_by_name_else_by_their_address() -> None:
    assert member_name(Subscriber(email="ada@lab.org", topics=(), name="Ada")) == "Ada"
    assert member_name(Subscriber(email="lin.wu@lab.org", topics=())) == "lin.wu"


def store_lab(engine: Engine) -> Subscriber:
    add_subscriber(engine, "ada@lab.org", "UTC", "08:00", name="Ada",
                   topics=("graph neural networks",))
    add_subscriber(engine, "lin@lab.org", "UTC", "08:00", topics=("exoplanets",))
    return add_subscriber(engine, "team@lab.org", "UTC", "08:00", name="The lab", topics=(),
                          members=("ada@lab.org", "lin@lab.org"), max_papers=4)


def test_one_members_broad_topic_does_not_take_every_place(config: Config, engine: Engine) -> None:
    team = store_lab(engine)
    matcher, pool = Matcher(config.match), [*BROAD, *NARROW]
    # one reader of both members' topics: the broad topic's papers fill the four places
    both = Subscriber(email="x@lab.org", topics=("graph neural networks", "exoplanets"),
                      max_papers=4)
    assert {p.paper.title for p in matcher.match(both, pool)} <= {p.title for p in BROAD}
    with engine.connect() as conn:
        past = history(conn, [team])
    picks = pick(matcher, [team], pool, past)["team@lab.org"]
    assert len(picks) == 4
    assert {p.paper.title: p.members for p in picks if p.paper in NARROW} == {
        p.title: ("lin",) for p in NARROW}  # Lin's two papers, for Lin (no name: the address)
    assert [p.members for p in picks if p.paper in BROAD] == [("Ada",), ("Ada",)]
    assert {p.topic for p in picks} == {"graph neural networks", "exoplanets"}


def test_a_member_who_unsubscribed_shapes_and_names_nothing(config: Config,
                                                             engine: Engine) -> None:
    team = store_lab(engine)
    with engine.begin() as conn:
        assert set_status(conn, "lin@lab.org", "unsubscribed", NOW)
        past = history(conn, [team])
    picks = pick(Matcher(config.match), [team], [*BROAD, *NARROW], past)["team@lab.org"]
    assert picks and all(p.members == ("Ada",) for p in picks)
    assert not {p.paper.title for p in picks} & {p.title for p in NARROW}


def test_the_teams_email_says_whom_each_paper_is_for_in_sections_of_their_topics(
    config: Config, engine: Engine
) -> None:
    store_lab(engine)
    with engine.begin() as conn:
        upsert_papers(conn, [*BROAD, *NARROW], "test", NOW - timedelta(hours=1))
    stages = Stages.build(config, engine)
    with engine.connect() as conn:
        stored = get_subscriber(conn, "team@lab.org")
    assert stored is not None
    deliver(stages, NOW, None, readers=[stored.subscriber], sync=False)
    mailer = memory_mailer(config.base_dir)
    send_due(engine, mailer, config.delivery, now=NOW, build=Builder(engine, stages.composer))
    [sent] = [m for m in mailer.outbox if "team@lab.org" in m.to]
    assert sent.text.count("\nFor Ada\n") == 2 and sent.text.count("\nFor lin\n") == 2
    assert sent.html.count(">For Ada</div>") == 2
    assert "\ngraph neural networks - 2 papers\n" in sent.text
    assert "\nexoplanets - 2 papers\n" in sent.text


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unknown_member_is_one_line_naming_the_file_and_the_address(
    config: Config, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    folder = config.path(config.newsletter.subscribers_dir)
    write(folder, "ada.toml", 'email = "ada@lab.org"\ntopics = ["graph neural networks"]\n')
    team = write(folder, "team.toml",
                 'email = "team@lab.org"\nmembers = ["ada@lab.org", "nobody@lab.org"]\n')
    with pytest.raises(SubscriberError) as caught:
        sync_folder(engine, folder, NOW)
    assert str(caught.value) == (f"{team}: field 'members': no subscriber nobody@lab.org (no "
                                 "subscriber file has it, none is stored)")
    with engine.connect() as conn:
        assert get_subscriber(conn, "ada@lab.org") is None  # nothing half-written
    with caplog.at_level(logging.WARNING):
        sync_subscribers(config, engine, NOW)  # a run: the file is skipped, the others sync
    assert f"{team}: field 'members': no subscriber nobody@lab.org" in caplog.text
    with engine.connect() as conn:
        assert get_subscriber(conn, "ada@lab.org") is not None
        assert get_subscriber(conn, "team@lab.org") is None
    team.write_text('email = "team@lab.org"\nmembers = ["ada@lab.org"]\n', encoding="utf-8")
    sync_folder(engine, folder, NOW)
    with engine.connect() as conn:
        stored = get_subscriber(conn, "team@lab.org")
    assert stored is not None and stored.subscriber.members == ("ada@lab.org",)


def test_what_the_team_was_sent_is_left_out_for_every_member(
    config: Config, engine: Engine
) -> None:
    team = store_lab(engine)
    with engine.connect() as conn:
        past = history(conn, [team])
    sent = {p.key for p in [*NARROW, BROAD[0]]}
    past = replace(past, sent={**past.sent, team.email: sent})
    picks = pick(Matcher(config.match), [team], [*BROAD, *NARROW], past)[team.email]
    assert picks and not {p.paper.key for p in picks} & sent
