"""Issues kept as picks and rendered when sent, on SQLite and PostgreSQL: the sent message is
the preview, templates are pinned, paper history follows delivery, old rows still send, and
``prune`` keeps what matching and the archive need."""

from __future__ import annotations

import email
import email.policy
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsletter import profile
from newsletter.app.queued_issue import Builder, enqueued_message, found_papers, restore
from newsletter.app.run import deliver, prune_old
from newsletter.app.stages import Stages
from newsletter.config import Config
from newsletter.delivery.memory import MemoryMailer
from newsletter.delivery.outbox import send_due
from newsletter.models import OutgoingEmail, Paper, Subscriber
from newsletter.render import Renderer
from newsletter.render.environment import template_dirs, template_sources
from newsletter.store import open_engine, pins
from newsletter.store.history import sent_keys, sent_keys_many
from newsletter.store.migrate import available
from newsletter.store.outbox import WITH_ISSUE, QueuedIssue, enqueue_issues, issue_row
from newsletter.store.papers import upsert_papers
from newsletter.store.tables import outbox, outbox_issues, template_versions
from tests.app.conftest import add_papers, add_subscriber, memory_mailer, service_config

DAY1 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
ADA = "ada@example.org"


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    """The app conftest's config on each database (its ``engine`` opens this one)."""
    return service_config(tmp_path, database_url)


@pytest.fixture
def stages(config: Config, engine: Engine) -> Stages:
    add_subscriber(engine, ADA, "UTC", "08:00", name="Ada Lovelace")
    add_papers(engine, DAY1 - timedelta(hours=1), "vision", n=4)
    return Stages.build(config, engine)


def send(stages: Stages, mailer: MemoryMailer, now: datetime) -> None:
    build = Builder(stages.engine, stages.composer)
    send_due(stages.engine, mailer, stages.config.delivery, now=now, build=build)


def without_date(raw: bytes) -> bytes:
    return re.sub(rb"\r\nDate: [^\r]*", b"", raw)


def row(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        return dict(conn.execute(WITH_ISSUE).mappings().one())


def test_the_sent_message_is_the_preview_of_the_enqueued_issue(stages: Stages) -> None:
    enqueued, _ = deliver(stages, DAY1, None)
    assert enqueued.enqueued == 1
    stored = row(stages.engine)
    assert stored["text_body"] == "" and stored["raw"] is None and stored["subject"] == ""
    issue = stored["issue"]
    assert isinstance(issue, dict) and len(issue["picks"]) == 4
    preview = enqueued_message(stages.engine, stages.composer, ADA, DAY1.date(), DAY1)
    assert isinstance(preview, OutgoingEmail) and preview.raw
    mailer = memory_mailer(stages.config.base_dir)
    send(stages, mailer, DAY1 + timedelta(minutes=5))
    [sent] = mailer.outbox
    assert sent.raw and without_date(sent.raw) == without_date(preview.raw)
    assert sent.raw != preview.raw  # the Date differs: sent five minutes later
    message = email.message_from_bytes(sent.raw, policy=email.policy.default)
    assert message["To"] == "Ada Lovelace <ada@example.org>"
    assert "Spiking neural networks for vision task 0" in message.get_body(("plain",)).get_content()
    after = row(stages.engine)
    assert after["status"] == "sent" and after["subject"] == sent.subject
    assert after["text_body"] == "" and after["html_body"] == "" and after["raw"] is None
    assert after["issue"] == issue  # the picks stay, for the archive


def test_a_template_edited_after_enqueue_does_not_change_the_issue(stages: Stages) -> None:
    deliver(stages, DAY1, None)
    folder = stages.config.path(stages.config.newsletter.templates_dir)
    folder.mkdir(exist_ok=True)
    (folder / "subject.txt").write_text("EDITED {{ count }}\n", encoding="utf-8")
    mailer = memory_mailer(stages.config.base_dir)
    send(stages, mailer, DAY1)
    [sent] = mailer.outbox
    assert "EDITED" not in sent.subject and "EDITED" not in sent.text
    # the next issue is rendered with the edited template
    add_papers(stages.engine, DAY2 - timedelta(hours=1), "audio", n=2)
    deliver(Stages.build(stages.config, stages.engine), DAY2, None)
    send(stages, mailer, DAY2)
    assert mailer.outbox[-1].subject == "EDITED 2"


def test_a_row_whose_template_version_is_gone_fails_with_a_clear_error(stages: Stages) -> None:
    deliver(stages, DAY1, None)
    with stages.engine.begin() as conn:
        conn.execute(sa.delete(template_versions))
    mailer = memory_mailer(stages.config.base_dir)
    send(stages, mailer, DAY1)
    assert mailer.outbox == []
    failed = row(stages.engine)
    assert failed["status"] == "failed"
    assert "cannot render the issue: template version" in str(failed["last_error"])
    assert "is gone from the database" in str(failed["last_error"])


def test_papers_count_as_sent_when_sent_and_come_back_when_the_issue_fails(stages: Stages) -> None:
    deliver(stages, DAY1, None)
    with stages.engine.connect() as conn:
        assert sent_keys(conn, ADA) == set()  # enqueued is not sent
    # a second issue while the first waits does not repeat its papers
    second, _ = deliver(stages, DAY2, None)
    assert second.enqueued == 1
    with stages.engine.connect() as conn:
        query = sa.select(outbox_issues.c.issue).order_by(outbox_issues.c.row_id)
        issues = list(conn.execute(query).scalars())
    assert issues[1]["picks"] == []  # quiet_day = send: an issue with nothing new
    mailer = memory_mailer(stages.config.base_dir)
    mailer.plan[ADA] = ["permanent", "sent"]
    send(stages, mailer, DAY2)
    with stages.engine.connect() as conn:
        assert sent_keys(conn, ADA) == set()  # the failed issue's papers are back in the pool
    third, _ = deliver(stages, DAY2 + timedelta(days=1), None)
    assert third.enqueued == 1
    with stages.engine.connect() as conn:
        last = conn.execute(query.order_by(None).order_by(outbox_issues.c.row_id.desc())).scalar()
    assert [p[0] for p in last["picks"]] == [p[0] for p in issues[0]["picks"]]
    send(stages, mailer, DAY2 + timedelta(days=1))
    with stages.engine.connect() as conn:
        assert sent_keys(conn, ADA) == {p[0] for p in issues[0]["picks"]}


def test_enqueueing_an_issue_already_queued_adds_nothing(stages: Stages) -> None:
    deliver(stages, DAY1, None)  # another run queued Ada's issue meanwhile
    stored = row(stages.engine)
    again = QueuedIssue(str(stored["issue_id"]), "<again@news.example.org>",
                        str(stored["sender"]), ADA, dict(stored["issue"]),  # type: ignore[arg-type]
                        str(stored["template_version"]))
    with stages.engine.begin() as conn:
        assert enqueue_issues(conn, [again], now=DAY1) == set()
    assert row(stages.engine)["message_id"] == stored["message_id"]  # one row, the first


def test_an_issue_row_without_its_snapshot_fails_and_sends_nothing(stages: Stages) -> None:
    deliver(stages, DAY1, None)
    with stages.engine.begin() as conn:
        conn.execute(sa.delete(outbox_issues))  # by hand, say: nothing else leaves this state
    mailer = memory_mailer(stages.config.base_dir)
    send(stages, mailer, DAY1)
    assert mailer.outbox == []
    failed = row(stages.engine)
    assert failed["status"] == "failed" and "snapshot" in str(failed["last_error"])


def migrate_to(conn: Connection, version: int) -> None:
    """Bring an empty database to an old schema version, as an older release left it."""
    conn.exec_driver_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for number, upgrade in available():
        if number <= version:
            upgrade(conn)
            conn.exec_driver_sql(f"INSERT INTO schema_version VALUES ({number})")


def test_version_11_moves_queued_snapshots_beside_the_outbox(database_url: str) -> None:
    snapshot = {"date": "2026-11-22", "email": "Old@Example.org", "name": "Old Reader",
                "topics": ["graph neural networks"],
                "picks": [["arxiv:2611.00001", 0.83, ["title matches 'graph neural networks'"]]]}
    engine = open_engine(database_url, upgrade=False)
    try:
        with engine.begin() as conn:
            migrate_to(conn, 10)
            insert = sa.text(
                "INSERT INTO outbox (recipient, issue_id, status, attempts, next_attempt_at, "
                "message_id, sender, to_header, subject, text_body, html_body, headers, "
                "created_at, updated_at, issue, template_version) VALUES (:key, '2026-11-22', "
                "'queued', 0, :t, :mid, 'digest@news.example.org', :to, '', '', '', '[]', "
                ":t, :t, :issue, :version)")
            conn.execute(insert, {"key": "old@example.org", "to": "Old <old@example.org>",
                                  "t": DAY1, "mid": "<a@x.org>", "issue": json.dumps(snapshot),
                                  "version": "v1"})
            conn.execute(insert, {"key": "new@example.org", "to": "new@example.org", "t": DAY1,
                                  "mid": "<b@x.org>", "issue": None, "version": None})
    finally:
        engine.dispose()
    engine = open_engine(database_url)  # migrates to the latest version
    try:
        with engine.connect() as conn:
            assert "issue" not in {c["name"] for c in sa.inspect(conn).get_columns("outbox")}
            rows = {r["recipient"]: r for r in conn.execute(WITH_ISSUE).mappings()}
            assert rows["old@example.org"]["issue"] == snapshot
            assert rows["new@example.org"]["issue"] is None
            moved = issue_row(conn, "old@example.org", "2026-11-22")
            assert moved is not None and moved.issue == snapshot
            assert moved.template_version == "v1"
            assert sent_keys_many(conn, ["old@example.org"], waiting=True) == {
                "old@example.org": {"arxiv:2611.00001"}}
    finally:
        engine.dispose()


def test_a_row_queued_before_the_migration_is_sent_as_stored(
    tmp_path: Path, database_url: str
) -> None:
    engine = open_engine(database_url, upgrade=False)
    try:
        with engine.begin() as conn:
            migrate_to(conn, 7)
            conn.execute(sa.text(
                "INSERT INTO outbox (recipient, issue_id, status, attempts, next_attempt_at, "
                "message_id, sender, to_header, subject, text_body, html_body, headers, raw, "
                "created_at, updated_at) VALUES ('old@example.org', '2026-11-22', 'queued', 0, "
                ":t, '<old@news.example.org>', 'digest@news.example.org', 'old@example.org', "
                "'Old issue', 'old text', '<p>old</p>', '[]', :raw, :t, :t)"),
                {"t": DAY1, "raw": b"Subject: Old issue\r\n\r\nold text\r\n"})
    finally:
        engine.dispose()
    config = service_config(tmp_path, database_url)
    engine = open_engine(database_url)  # migrates to the latest version
    try:
        mailer = memory_mailer(tmp_path)
        send(Stages.build(config, engine), mailer, DAY1)
        [sent] = mailer.outbox
        assert sent.subject == "Old issue" and sent.raw == b"Subject: Old issue\r\n\r\nold text\r\n"
        assert row(engine)["status"] == "sent" and row(engine)["raw"] is None
    finally:
        engine.dispose()


def test_prune_drops_old_details_and_keeps_the_history(stages: Stages) -> None:
    add_subscriber(stages.engine, "bob@example.org", "UTC", "08:00")
    deliver(stages, DAY1, None)
    mailer = memory_mailer(stages.config.base_dir)
    mailer.plan["bob@example.org"] = ["permanent"]
    send(stages, mailer, DAY1)
    later = DAY1 + timedelta(days=stages.config.delivery.prune_after_days + 1)
    report = prune_old(stages.config, stages.engine, later)
    assert (report.rows, report.details, report.versions) == (1, 1, 0)
    kept = row(stages.engine)  # Ada's sent issue: its picks stay, the provider id goes
    assert kept["recipient"] == ADA and kept["issue"] and kept["provider_id"] is None
    with stages.engine.connect() as conn:
        assert len(sent_keys(conn, ADA)) == 4
        assert conn.execute(sa.select(sa.func.count()).select_from(template_versions)).scalar()


def test_an_issue_row_stays_small(stages: Stages) -> None:
    papers = [
        Paper(title=f"Spiking neural networks that learn delays for keyword spotting, part {i}",
              abstract="We train spiking neural networks with learnable axonal delays.",
              arxiv_id=f"2511.{10000 + i}")
        for i in range(10)
    ]
    with stages.engine.begin() as conn:
        upsert_papers(conn, papers, "test", DAY1 - timedelta(hours=1))
    deliver(stages, DAY1, None)
    stored = row(stages.engine)
    assert len(stored["issue"]["picks"]) == 10  # type: ignore[index]
    size = sum(len(json.dumps(v, default=str)) for v in stored.values() if v is not None)
    assert size < 2048  # the goal for a row of a 10-paper issue (issue 16)


def test_a_card_shows_its_code_link_and_source_after_a_round_trip(stages: Stages) -> None:
    paper = Paper(title="Spiking neural networks with code", abstract="Spiking neural networks.",
                  arxiv_id="2511.20001", code_url="https://github.com/example-lab/snn",
                  authors=("Ada Lovelace",), upvotes=3)
    with stages.engine.begin() as conn:
        upsert_papers(conn, [paper], "test", DAY1 - timedelta(hours=1))
    deliver(stages, DAY1, None)
    made = enqueued_message(stages.engine, stages.composer, ADA, DAY1.date(), DAY1)
    assert isinstance(made, OutgoingEmail)
    assert "Code: https://github.com/example-lab/snn" in made.text
    assert 'href="https://github.com/example-lab/snn"' in made.html
    assert "Ada Lovelace · 3 upvotes · arXiv:2511.20001" in made.text


def test_a_row_its_reader_breaks_fails_alone_and_the_batch_goes_on(stages: Stages) -> None:
    files = template_sources(template_dirs(None)) | {"subject.txt": "{{ subscriber.name[5] }}"}
    version, sources, settings = Renderer(stages.config.newsletter, stages.config.email,
                                          files=files).pin()
    picks = [["title:spiking neural networks for vision task 0", 1.0, ["matched"]]]
    rows = [QueuedIssue("2026-11-23", f"<{name}@news.example.org>",
                        "digest@news.example.org", f"{name.lower()}@example.org",
                        {"date": "2026-11-23", "email": f"{name.lower()}@example.org",
                         "name": name, "topics": ["vision"], "picks": picks}, version)
            for name in ("Ada", "Bartholomew")]
    with stages.engine.begin() as conn:
        pins.save(conn, pins.Pin(version, sources, settings), now=DAY1)
        enqueue_issues(conn, rows, now=DAY1)
    mailer = memory_mailer(stages.config.base_dir)
    send(stages, mailer, DAY1)
    assert [m.subject for m in mailer.outbox] == ["o"]  # "Bartholomew"[5]
    with stages.engine.connect() as conn:
        failed = conn.execute(sa.select(outbox.c.recipient, outbox.c.last_error)
                              .where(outbox.c.status == "failed")).one()
    assert failed.recipient == "ada@example.org"
    assert failed.last_error == "cannot render the issue: subject.txt: str object has no element 5"


def test_prune_keeps_a_template_version_an_enqueue_used_lately(stages: Stages) -> None:
    version, files, settings = stages.renderer.pin()
    with stages.engine.begin() as conn:
        pins.save(conn, pins.Pin(version, files, settings), now=DAY1)  # no row uses it yet
    assert prune_old(stages.config, stages.engine, DAY1 + timedelta(days=1)).versions == 0
    later = DAY1 + timedelta(days=stages.config.delivery.prune_after_days + 1)
    assert prune_old(stages.config, stages.engine, later).versions == 1


def test_the_snapshot_keeps_the_profile_an_email_may_show(
    config: Config, engine: Engine
) -> None:
    reader = add_subscriber(
        engine, "lin@example.org", "Asia/Tokyo", "00:00", name="Lin", topics=("vision",),
        exclude=("surveys",), authors=("Mei Chen",), max_papers=3, min_upvotes=2,
        frequency="weekly", weekday=0, papers=("2401.00001",),
        library=("arxiv:2306.17670|title:learning delays in spiking networks",))
    add_papers(engine, DAY1 - timedelta(hours=1), "vision", n=2)
    stages = Stages.build(config, engine)
    deliver(stages, DAY1, None)  # a Monday, past midnight in Tokyo: the weekly issue is due
    issue = row(engine)["issue"]
    assert isinstance(issue, dict)
    assert issue["exclude"] == ["surveys"] and issue["frequency"] == "weekly"
    assert issue["timezone"] == "Asia/Tokyo" and issue["send_at"] == "00:00"
    assert "library" not in issue and "papers" not in issue  # no email shows them; long
    with engine.connect() as conn:
        papers = found_papers(conn, [p[0] for p in issue["picks"]])
    restored = restore(issue, papers)
    assert not isinstance(restored, str)
    assert restored.subscriber == replace(reader, papers=(), library=(), origin="")


def test_a_snapshot_an_older_version_wrote_restores_with_the_defaults() -> None:
    old = {"date": "2026-11-22", "email": "old@example.org", "name": "Old Reader",
           "topics": ["graph neural networks"], "picks": []}
    restored = restore(old, {})
    assert not isinstance(restored, str)
    assert restored.subscriber == Subscriber(
        email="old@example.org", name="Old Reader", topics=("graph neural networks",))
    assert restored.subscriber.send_at == time(7, 0) and restored.issue_id == "2026-11-22"


def test_no_profile_field_takes_a_name_the_snapshot_uses_for_itself() -> None:
    assert {"date", "picks"}.isdisjoint(f.name for f in profile.FIELDS)


LONG = Paper(
    title="Spiking neural networks that learn their own delays",
    abstract="Spiking neural networks learn synaptic delays end to end. " * 4
    + "We release the code. " + "Delays matter for temporal tasks in many settings. " * 8
    + "The closing sentence says what remains open.",
    arxiv_id="2511.30001",
)


@pytest.mark.parametrize("choice", ["short", "full", "none"])
def test_the_sent_email_shows_as_much_of_each_abstract_as_the_reader_chose(
    config: Config, engine: Engine, choice: str
) -> None:
    add_subscriber(engine, ADA, "UTC", "08:00", abstracts=choice)
    with engine.begin() as conn:
        upsert_papers(conn, [LONG], "test", DAY1 - timedelta(hours=1))
    stages = Stages.build(config, engine)
    deliver(stages, DAY1, None)
    assert row(engine)["issue"]["abstracts"] == choice  # type: ignore[index]
    add_subscriber(engine, ADA, "UTC", "08:00", abstracts="short")  # changed after enqueue
    mailer = memory_mailer(config.base_dir)
    send(stages, mailer, DAY1)  # as the worker sends: rendered from the outbox snapshot
    [sent] = mailer.outbox
    assert sent.raw is not None
    message = email.message_from_bytes(sent.raw, policy=email.policy.default)
    for kind in ("plain", "html"):
        part = message.get_body((kind,))
        assert part is not None
        body = " ".join(part.get_content().split())  # type: ignore[attr-defined]
        assert ("learn synaptic delays end to end" in body) == (choice != "none"), kind
        assert ("The closing sentence says what remains open." in body) == (choice == "full")
        assert "Spiking neural networks that learn their own delays" in body
