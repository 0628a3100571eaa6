"""The store: versioned migrations, and one row per paper with merged metadata."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsletter.errors import StoreError
from newsletter.models import Paper
from newsletter.store import open_engine
from newsletter.store.migrate import applied_versions, available, current_version
from newsletter.store.migrations import v0001_papers
from newsletter.store.papers import count_papers, list_papers, upsert_papers
from newsletter.store.tables import papers, sent_papers

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_fresh_database_reaches_the_latest_version(open_db: Callable[..., Engine]) -> None:
    engine = open_db()
    with engine.connect() as conn:
        assert current_version(conn) == available()[-1][0]
    open_db()  # a second open changes nothing and does not fail
    with engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version FROM schema_version").scalars().all()
    assert sorted(versions) == [v for v, _ in available()]


def test_an_older_database_is_upgraded_and_keeps_its_rows(open_db: Callable[..., Engine]) -> None:
    engine = open_db(upgrade=False)
    with engine.begin() as conn:  # the database as version 1 of the project left it
        conn.exec_driver_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        v0001_papers.upgrade(conn)
        conn.exec_driver_sql("INSERT INTO schema_version (version) VALUES (1)")
        conn.execute(  # a row as version 1 wrote it (no title_key yet)
            sa.text(
                "INSERT INTO papers (key, title, abstract, url, authors, ai_keywords, source,"
                " first_seen, updated_at) VALUES ('title:old paper', 'Old Paper', 'kept', '',"
                " '[]', '[]', 'old', :now, :now)"
            ),
            {"now": NOW},
        )
    engine = open_db()
    with engine.connect() as conn:
        assert current_version(conn) == available()[-1][0]
        assert [p.title for p in list_papers(conn)] == ["Old Paper"]
        # the upgrade filled the new column, so the old row is found by its title
        assert (
            upsert_papers(conn, [Paper("old paper!", "kept", arxiv_id="2401.00002")], "n", NOW).new
            == 0
        )


def test_a_newer_database_is_refused(open_db: Callable[..., Engine]) -> None:
    engine = open_db()
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO schema_version (version) VALUES (9999)")
    with pytest.raises(StoreError, match="schema version 9999 is newer"):
        open_db()


def test_merge_fills_missing_fields_and_updates_upvotes(open_db: Callable[..., Engine]) -> None:
    engine = open_db()
    first = Paper("Spiking Nets", "short", arxiv_id="2401.00001", upvotes=3)
    later = Paper(
        "Spiking nets",
        "a much longer abstract",
        arxiv_id="2401.00001",
        upvotes=9,
        authors=("Ada", "Alan"),
        published=date(2024, 1, 2),
        ai_summary="tl;dr",
    )
    with engine.begin() as conn:
        assert upsert_papers(conn, [first], "a", NOW).new == 1
        counts = upsert_papers(conn, [later], "b", NOW)
        assert (counts.new, counts.updated, counts.unchanged) == (0, 1, 0)
        again = upsert_papers(conn, [later], "b", NOW)
        assert (again.new, again.updated, again.unchanged) == (0, 0, 1)
        [stored] = list_papers(conn)
        assert count_papers(conn) == 1
    assert stored.title == "Spiking Nets"  # the first title is kept
    assert stored.abstract == "a much longer abstract"
    assert stored.upvotes == 9 and stored.authors == ("Ada", "Alan")
    assert stored.published == date(2024, 1, 2) and stored.ai_summary == "tl;dr"


def test_upvotes_keep_the_highest_count_and_do_not_flip_between_sources(
    open_db: Callable[..., Engine],
) -> None:
    engine = open_db()
    api = Paper("Voted Paper", "abstract", arxiv_id="2401.00003", upvotes=12)
    page = Paper("Voted paper", "abstract", upvotes=3)  # a text page: title only, fewer votes
    with engine.begin() as conn:
        assert upsert_papers(conn, [api], "a", NOW).new == 1
        for _ in range(2):  # every later fetch of either source changes nothing
            for paper, source in ((page, "b"), (api, "a")):
                counts = upsert_papers(conn, [paper], source, NOW)
                assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 1)
        assert [p.upvotes for p in list_papers(conn)] == [12]
        more = upsert_papers(conn, [Paper("Voted Paper", "abstract", upvotes=15)], "b", NOW)
        assert (more.updated, [p.upvotes for p in list_papers(conn)]) == (1, [15])
        upsert_papers(conn, [Paper("Voted Paper", "abstract")], "c", NOW)  # no count: kept
        [stored] = list_papers(conn)
    assert (stored.key, stored.upvotes) == ("arxiv:2401.00003", 15)


def test_the_first_source_name_is_cut_to_the_column(open_db: Callable[..., Engine]) -> None:
    engine = open_db()
    with engine.begin() as conn:
        assert upsert_papers(conn, [Paper("Long Named", "x")], "s/" * 150, NOW).new == 1
        assert len(conn.execute(sa.select(papers.c.source)).scalar_one()) == 200


def test_title_identity_ignores_case_accents_and_punctuation(
    open_db: Callable[..., Engine],
) -> None:
    engine = open_db()
    with engine.begin() as conn:
        upsert_papers(conn, [Paper("Light Schrödinger Bridge", "x")], "a", NOW)
        counts = upsert_papers(conn, [Paper("light schrodinger  bridge!", "x")], "b", NOW)
    assert counts.new == 0


@pytest.mark.parametrize("url", ["nosuchdb://x/y", "mysql://u:secretpw@y/z", "sqlite+nope:///x"])
def test_bad_url_is_one_line_naming_the_key(url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_engine(url)
    message = str(info.value)
    assert message.startswith("key 'newsletter.database_url' ")
    assert "\n" not in message and "secretpw" not in message


def test_unreachable_postgres_is_one_line_without_password() -> None:
    with pytest.raises(StoreError) as info:
        open_engine("postgresql://u:secretpw@127.0.0.1:1/none?connect_timeout=2")
    assert "secretpw" not in str(info.value) and "\n" not in str(info.value)


def test_search_and_since_filters(open_db: Callable[..., Engine]) -> None:
    engine = open_db()
    with engine.begin() as conn:
        upsert_papers(
            conn, [Paper("Brain decoding", "fMRI"), Paper("Exoplanets", "radius")], "a", NOW
        )
        assert [p.title for p in list_papers(conn, search="FMRI")] == ["Brain decoding"]
        assert list_papers(conn, since=date(2027, 1, 1)) == []
        assert len(list_papers(conn, since=date(2026, 11, 23))) == 2
    assert isinstance(engine.dialect, sa.engine.Dialect)


def test_a_paper_seen_with_and_without_its_arxiv_id_is_stored_once(
    open_db: Callable[..., Engine],
) -> None:
    engine = open_db()
    text_page = Paper("Brain3D: Generating 3D Objects from fMRI", "abstract", author_count=7)
    api_page = Paper(
        "Brain3D: generating 3D objects from fMRI", "abstract", arxiv_id="2405.15239", upvotes=4
    )
    other_version = Paper("Brain3D: Generating 3D Objects from fMRI", "x", arxiv_id="2405.99999")
    with engine.begin() as conn:
        upsert_papers(conn, [text_page], "text", NOW)
        conn.execute(
            sent_papers.insert().values(
                email="a@x.org", paper_key=text_page.key, issue_date=date(2026, 11, 1), sent_at=NOW
            )
        )
        counts = upsert_papers(conn, [api_page], "api", NOW)
        assert (counts.new, counts.updated) == (0, 1)
        again = upsert_papers(conn, [text_page], "text", NOW)  # title-only joins the id'd row
        assert (again.new, again.updated, again.unchanged) == (0, 0, 1)
        [stored] = list_papers(conn)
        history = conn.execute(sa.select(sent_papers.c.paper_key)).scalars().all()
        assert upsert_papers(conn, [other_version], "api", NOW).new == 1
    assert stored.key == "arxiv:2405.15239"
    assert (stored.author_count, stored.upvotes) == (7, 4)
    assert history == ["arxiv:2405.15239"]  # the sent history followed the paper


def test_a_migration_missing_below_the_newest_applied_one_is_still_applied(
    open_db: Callable[..., Engine],
) -> None:
    engine = open_db()
    with engine.begin() as conn:  # as if version 2 had been merged after 3 was applied
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version = 2")
        conn.exec_driver_sql("DROP TABLE sent_papers")
    engine = open_db()
    with engine.connect() as conn:
        assert sa.inspect(conn).has_table("sent_papers")
        assert sorted(applied_versions(conn)) == [v for v, _ in available()]
