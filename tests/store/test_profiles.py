"""Profiles, sent history, feedback and the embedding cache in a real database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsletter.app.readers import sync_folder
from newsletter.config import MatchSettings
from newsletter.errors import SubscriberError
from newsletter.match import Matcher
from newsletter.models import Subscriber
from newsletter.store.embeddings import StoreCache
from newsletter.store.history import (
    feedback_for,
    feedback_many,
    record_feedback,
    reference_papers,
    sent_keys,
    sent_keys_many,
)
from newsletter.store.outbox import QueuedIssue, enqueue_issues
from newsletter.store.papers import upsert_papers
from newsletter.store.profiles import (
    active_subscribers,
    get_subscriber,
    list_subscribers,
    set_status,
    upsert_subscriber,
)
from newsletter.store.tables import outbox, sent_papers
from tests.match.conftest import paper

NOW = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
ADA = Subscriber(email="Ada@Example.org", topics=("spiking neural networks",), origin="web")


def test_migration_creates_the_tables(open_db: Callable[..., Engine]) -> None:
    names = set(sa.inspect(open_db()).get_table_names())
    assert {"subscribers", "sent_papers", "feedback", "embeddings"} <= names


def test_upsert_get_list_and_status(open_db: Callable[..., Engine]) -> None:
    engine = open_db()
    with engine.begin() as conn:
        assert upsert_subscriber(conn, ADA, NOW) == "added"
        assert upsert_subscriber(conn, ADA, NOW) == "unchanged"
        changed = Subscriber(email="ada@example.org", topics=("neuromorphic computing",))
        assert upsert_subscriber(conn, changed, NOW) == "updated"
    with engine.begin() as conn:
        stored = get_subscriber(conn, "ADA@example.org")
        assert stored is not None and stored.status == "active"
        assert stored.subscriber.topics == ("neuromorphic computing",)
        assert set_status(conn, "ada@example.org", "paused", NOW)
        assert not set_status(conn, "nobody@example.org", "paused", NOW)
        with pytest.raises(SubscriberError, match="unknown status 'gone'"):
            set_status(conn, "ada@example.org", "gone", NOW)
    with engine.connect() as conn:
        assert [s.status for s in list_subscribers(conn)] == ["paused"]
        assert active_subscribers(conn) == []
        assert get_subscriber(conn, "ada@example.org").subscriber.active is False  # type: ignore[union-attr]


def test_sync_keeps_unsubscribed_and_forgets_deleted_files(
    open_db: Callable[..., Engine], tmp_path: Path
) -> None:
    folder = tmp_path / "subscribers"
    folder.mkdir()
    (folder / "ada.toml").write_text('email = "ada@example.org"\ntopics = ["x"]\n')
    (folder / "bob.toml").write_text('email = "bob@example.org"\ntopics = ["y"]\nactive = false\n')
    engine = open_db()
    report = sync_folder(engine, folder, NOW)
    assert sorted(report.added) == ["ada@example.org", "bob@example.org"]
    with engine.begin() as conn:
        upsert_subscriber(
            conn, Subscriber(email="web@example.org", topics=("z",), origin="web"), NOW
        )
        set_status(conn, "ada@example.org", "unsubscribed", NOW)
    (folder / "bob.toml").unlink()
    (folder / "ada.toml").write_text('email = "ada@example.org"\ntopics = ["x", "w"]\n')
    report = sync_folder(engine, folder, NOW)
    assert (report.updated, report.removed) == (("ada@example.org",), ("bob@example.org",))
    with engine.connect() as conn:
        statuses = {s.subscriber.email: s.status for s in list_subscribers(conn)}
    assert statuses == {"ada@example.org": "unsubscribed", "web@example.org": "active"}


def test_sync_writes_nothing_when_one_file_is_bad(
    open_db: Callable[..., Engine], tmp_path: Path
) -> None:
    (tmp_path / "a.toml").write_text('email = "ada@example.org"\ntopics = ["x"]\n')
    (tmp_path / "b.toml").write_text('email = "bob@example.org"\ntopics = []\n')
    engine = open_db()
    with pytest.raises(SubscriberError, match=r"b\.toml: field 'topics'"):
        sync_folder(engine, tmp_path, NOW)
    with engine.connect() as conn:
        assert list_subscribers(conn) == []


def test_no_repeat_across_two_runs(open_db: Callable[..., Engine]) -> None:
    """Day one's picks are recorded as sent; day two, with the same and new papers, repeats none."""
    engine = open_db()
    matcher = Matcher(MatchSettings(semantic=False))
    day_one = [paper(f"Spiking neural networks, study {i}") for i in range(4)]
    day_two = [*day_one, paper("Spiking neural networks on a new chip")]
    profile = Subscriber(email="ada@example.org", topics=("spiking neural networks",))
    with engine.begin() as conn:
        first = matcher.match(profile, day_one, sent_keys(conn, profile.email))
        assert len(first) == 4
        record_sent(conn, profile.email, [p.paper.key for p in first], date(2026, 3, 11))
    with engine.connect() as conn:
        second = matcher.match(profile, day_two, sent_keys(conn, profile.email))
    assert [p.paper.title for p in second] == ["Spiking neural networks on a new chip"]


def test_feedback_is_kept_and_feeds_references(open_db: Callable[..., Engine]) -> None:
    engine = open_db()
    liked = paper("Graph neural networks for traffic", arxiv_id="2401.00001")
    other = paper("Something else entirely")
    with engine.begin() as conn:
        upsert_papers(conn, [liked, other], "test", NOW)
        record_feedback(conn, "ada@example.org", other.key, -1, NOW)
        record_feedback(conn, "ada@example.org", other.key, 1, NOW)
        with pytest.raises(SubscriberError, match=r"must be \+1 or -1"):
            record_feedback(conn, "ada@example.org", other.key, 0, NOW)
    with engine.connect() as conn:
        judged = feedback_for(conn, "Ada@example.org")
        assert judged == {other.key: 1}
        profile = Subscriber(email="ada@example.org", topics=("x",), papers=("2401.00001",))
        refs = reference_papers(conn, profile, judged)
    assert set(refs) == {liked.key, other.key}


def test_store_cache_round_trip(open_db: Callable[..., Engine]) -> None:
    cache = StoreCache(open_db())
    vector = np.linspace(-1, 1, 384, dtype=np.float32)
    cache.put({"arxiv:2401.00001": vector}, "mini")
    cache.put({"arxiv:2401.00001": vector * 2}, "mini")  # already there: kept as first stored
    found = cache.get(["arxiv:2401.00001", "arxiv:missing"], "mini")
    assert list(found) == ["arxiv:2401.00001"]
    assert np.array_equal(found["arxiv:2401.00001"], vector)
    assert cache.get(["arxiv:2401.00001"], "other-model") == {}


def record_sent(conn: Connection, email: str, keys: list[str], day: date) -> None:
    """An issue row holding ``keys``, marked sent (as the worker leaves it)."""
    row = QueuedIssue(day.isoformat(), f"<{email}-{day}@x.org>", "d@x.org", email,
                      {"date": day.isoformat(), "picks": [[k, 1.0, []] for k in keys]}, "v1")
    enqueue_issues(conn, [row], now=NOW)
    conn.execute(sa.update(outbox).where(outbox.c.message_id == row.message_id)
                 .values(status="sent"))


def test_bulk_history_for_a_batch(open_db: Callable[..., Engine]) -> None:
    engine = open_db()
    with engine.begin() as conn:
        record_sent(conn, "ada@example.org", ["k1", "k2"], date(2026, 3, 11))
        record_sent(conn, "bob@example.org", ["k2"], date(2026, 3, 11))
        record_feedback(conn, "bob@example.org", "k2", -1, NOW)
    with engine.connect() as conn:
        sent = sent_keys_many(conn, ["Ada@example.org", "bob@example.org", "cy@example.org"])
        judged = feedback_many(conn, ["Ada@example.org", "bob@example.org"])
    assert sent == {
        "Ada@example.org": {"k1", "k2"},
        "bob@example.org": {"k2"},
        "cy@example.org": set(),
    }
    assert judged == {"Ada@example.org": {}, "bob@example.org": {"k2": -1}}


def test_sent_history_comes_from_sent_issue_rows_and_the_old_table(
    open_db: Callable[..., Engine],
) -> None:
    with open_db().begin() as conn:
        record_sent(conn, "ada@example.org", ["k1"], date(2026, 3, 1))
        record_sent(conn, "Ada@Example.org", ["k2", "title:a paper later on arxiv"],
                    date(2026, 3, 12))
        queued = QueuedIssue("2026-03-13", "<q@x.org>", "d@x.org", "ada@example.org",
                             {"date": "2026-03-13", "picks": [["k9", 1.0, []]]}, "v1")
        enqueue_issues(conn, [queued], now=NOW)  # not sent: not in the sent history
        conn.execute(sa.insert(sent_papers).values(  # sent before issue rows kept picks
            email="ada@example.org", paper_key="k0", issue_date=date(2026, 2, 1), sent_at=NOW))
        upsert_papers(conn, [paper("A paper later on arXiv", arxiv_id="2603.00001")], "t", NOW)
        assert sent_keys(conn, "ada@example.org") == {
            "k0", "k1", "k2", "title:a paper later on arxiv", "arxiv:2603.00001"}
        assert sent_keys(conn, "ada@example.org", since=date(2026, 3, 10)) == {
            "k2", "title:a paper later on arxiv", "arxiv:2603.00001"}
