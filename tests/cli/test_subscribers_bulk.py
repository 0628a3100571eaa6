"""``newsletter subscribers import|export``: the row report, dry runs, round trips, bad files.

Each command runs through ``newsletter.cli.main`` (exit status and stderr as a user sees them)
on a real database: SQLite, and PostgreSQL when NEWSLETTER_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsletter import store
from newsletter.app import bulk
from newsletter.cli import common, main
from newsletter.config import Config
from newsletter.store.outbox import suppress
from newsletter.store.profiles import StoredSubscriber, list_subscribers, set_status

NOW = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
KNOWN = ", ".join(bulk.COLUMNS)


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str
    commits: int  # transactions the command committed (after opening the database)

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


Run = Callable[..., Done]


@pytest.fixture
def site(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config folder (the working directory) whose database is the test database."""
    (tmp_path / "newsletter.toml").write_text("[match]\nsemantic = false\n")
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def run(site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``newsletter --config site/newsletter.toml ARGS``, through the real entry point.

    The engine each invocation opens is disposed after it, as the end of a process would.
    """
    opened: list[Engine] = []
    commits: list[object] = []

    def open_database(config: Config) -> Engine:
        opened.append(store.open_engine(config.database_url))
        sa.event.listen(opened[-1], "commit", commits.append)
        return opened[-1]

    monkeypatch.setattr(common, "open_database", open_database)

    def run_(*args: str) -> Done:
        commits.clear()
        argv = ["newsletter", "--config", str(site / "newsletter.toml"), *args]
        monkeypatch.setattr(sys, "argv", argv)
        try:
            with pytest.raises(SystemExit) as stopped:
                main()
        finally:
            while opened:
                opened.pop().dispose()
        captured = capsys.readouterr()
        return Done(int(stopped.value.code or 0), captured.out, captured.err, len(commits))

    return run_


@pytest.fixture
def engine(open_db: Callable[..., Engine]) -> Engine:
    return open_db()


def stored(engine: Engine) -> dict[str, StoredSubscriber]:
    with engine.connect() as conn:
        return {s.subscriber.email: s for s in list_subscribers(conn)}


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


PEOPLE = """email,name,topics,timezone,status
ada@example.org,Ada,spiking neural networks; neuromorphic hardware,Europe/London,
x,Bad,robots,UTC,
grace@example.org,Grace,,UTC,
alan@example.org,Alan,computability,Nowhere/City,
ADA@Example.org,Ada again,robots,UTC,
vera@example.org,Vera,exoplanets,America/New_York,paused
kim@example.org,Kim,robots,UTC,gone
"""

PEOPLE_REFUSED = [
    "people.csv:row 3: field 'email': not a valid email address: 'x'",
    "people.csv:row 4: field 'topics': is empty; give at least one phrase such as "
    '"spiking neural networks"',
    "people.csv:row 5: field 'timezone': unknown IANA timezone 'Nowhere/City' "
    '(like "Europe/Paris")',
    "people.csv:row 6: field 'email': ADA@Example.org repeats row 2; only the first is imported",
    "people.csv:row 8: field 'status': must be one of active, paused, unsubscribed, not 'gone'",
]


def test_import_stores_valid_rows_and_reports_each_refused_one(
    run: Run, site: Path, engine: Engine
) -> None:
    write(site / "people.csv", PEOPLE)
    done = run("subscribers", "import", "people.csv")
    assert done.code == 1, done
    assert done.lines == [*PEOPLE_REFUSED, "2 imported, 0 updated, 5 refused"]
    assert done.err == ""
    found = stored(engine)
    assert sorted(found) == ["ada@example.org", "vera@example.org"]
    ada = found["ada@example.org"]
    assert ada.subscriber.topics == ("spiking neural networks", "neuromorphic hardware")
    assert (ada.subscriber.origin, ada.status, ada.subscriber.timezone) == (
        "import",
        "active",
        "Europe/London",
    )
    assert found["vera@example.org"].status == "paused"


def test_dry_run_prints_the_same_report_and_writes_nothing(
    run: Run, site: Path, engine: Engine
) -> None:
    write(site / "people.csv", PEOPLE)
    done = run("subscribers", "import", "people.csv", "--dry-run")
    assert done.code == 1
    assert done.lines == [
        *PEOPLE_REFUSED,
        "2 would be imported, 0 would be updated, 5 refused (dry run: nothing written)",
    ]
    assert stored(engine) == {}
    write(site / "good.csv", "email,topics\nada@example.org,robots\n")
    done = run("subscribers", "import", "good.csv", "--dry-run")
    assert (done.code, done.lines) == (
        0,
        ["1 would be imported, 0 would be updated, 0 refused (dry run: nothing written)"],
    )
    assert stored(engine) == {}


def test_a_folder_sync_keeps_imported_subscribers(run: Run, site: Path, engine: Engine) -> None:
    (site / "subscribers").mkdir()
    write(site / "subscribers" / "ada.toml", 'email = "ada@example.org"\ntopics = ["robots"]\n')
    write(site / "people.csv", "email,topics\nbob@example.org,robots\n")
    assert run("subscribers", "import", "people.csv").code == 0
    assert run("subscribers", "sync").code == 0
    write(site / "subscribers" / "ada.toml", 'email = "cy@example.org"\ntopics = ["robots"]\n')
    synced = run("subscribers", "sync")
    assert "removed: ada@example.org" in synced.lines
    assert sorted(stored(engine)) == ["bob@example.org", "cy@example.org"]


def test_a_stored_address_is_updated_only_with_update(run: Run, site: Path, engine: Engine) -> None:
    write(site / "a.csv", "email,name,topics\nada@example.org,Ada,robots\nbob@example.org,B,x\n")
    assert run("subscribers", "import", "a.csv", "--status", "paused").code == 0
    write(site / "b.csv", "email,name,topics\nada@example.org,Ada L.,spiking\ncy@example.org,C,y\n")
    done = run("subscribers", "import", "b.csv")
    assert done.code == 1
    assert done.lines == [
        "b.csv:row 2: field 'email': ada@example.org is already subscribed "
        "(--update replaces the stored profile)",
        "1 imported, 0 updated, 1 refused",
    ]
    assert stored(engine)["ada@example.org"].subscriber.name == "Ada"
    done = run("subscribers", "import", "b.csv", "--update", "--dry-run")
    assert done.lines == [
        "0 would be imported, 2 would be updated, 0 refused (dry run: nothing written)"
    ]
    assert stored(engine)["ada@example.org"].subscriber.name == "Ada"
    done = run("subscribers", "import", "b.csv", "--update")
    assert (done.code, done.lines) == (0, ["0 imported, 2 updated, 0 refused"])
    ada = stored(engine)["ada@example.org"]
    assert (ada.subscriber.name, ada.subscriber.topics) == ("Ada L.", ("spiking",))
    assert ada.status == "paused", "an update keeps the stored status unless the row gives one"


def test_an_unsubscribed_reader_is_never_subscribed_again(
    run: Run, site: Path, engine: Engine
) -> None:
    write(site / "a.csv", "email,topics\nada@example.org,robots\n")
    assert run("subscribers", "import", "a.csv").code == 0
    with engine.begin() as conn:
        set_status(conn, "ada@example.org", "unsubscribed", NOW)
        suppress(conn, "gone@example.org", "unsubscribed", now=NOW)  # unsubscribed, then removed
        suppress(conn, "spam@example.org", "complained", now=NOW)
        suppress(conn, "bounce@example.org", "bounced", now=NOW)
    rows = "".join(
        f"{who}@example.org,robots,active\n" for who in ("ada", "gone", "spam", "bounce")
    )
    write(site / "b.csv", "email,topics,status\n" + rows)
    done = run("subscribers", "import", "b.csv", "--update")
    assert done.code == 1
    assert done.lines == [
        "b.csv:row 2: field 'email': ada@example.org unsubscribed; "
        "an import never subscribes a reader again",
        "b.csv:row 3: field 'email': gone@example.org unsubscribed; "
        "an import never subscribes a reader again",
        "b.csv:row 4: field 'email': spam@example.org reported our mail as spam; "
        "an import never subscribes a reader again",
        "1 imported, 0 updated, 3 refused",
    ]
    found = stored(engine)
    assert found["ada@example.org"].status == "unsubscribed"
    assert sorted(found) == ["ada@example.org", "bounce@example.org"]


def test_a_file_based_subscriber_is_not_replaced_by_an_import(
    run: Run, site: Path, engine: Engine
) -> None:
    (site / "subscribers").mkdir()
    toml = write(site / "subscribers" / "ada.toml", 'email = "ada@example.org"\ntopics = ["x"]\n')
    assert run("subscribers", "sync").code == 0
    write(site / "a.csv", "email,topics\nada@example.org,robots\n")
    done = run("subscribers", "import", "a.csv", "--update")
    assert done.lines == [
        f"a.csv:row 2: field 'email': ada@example.org comes from {toml}; edit that file instead",
        "0 imported, 0 updated, 1 refused",
    ]
    assert stored(engine)["ada@example.org"].subscriber.topics == ("x",)


def test_status_option_and_active_column(run: Run, site: Path, engine: Engine) -> None:
    write(
        site / "a.csv",
        "email,topics,active,status\n"
        "a@example.org,x,,\nb@example.org,x,false,\nc@example.org,x,true,\n"
        "d@example.org,x,false,active\ne@example.org,x,,unsubscribed\n",
    )
    done = run("subscribers", "import", "a.csv", "--status", "paused")
    assert (done.code, done.lines) == (0, ["5 imported, 0 updated, 0 refused"])
    statuses = {email: s.status for email, s in stored(engine).items()}
    assert statuses == {
        "a@example.org": "paused",
        "b@example.org": "paused",
        "c@example.org": "active",
        "d@example.org": "active",
        "e@example.org": "unsubscribed",
    }
    assert run("subscribers", "import", "a.csv", "--status", "gone").code == 2


PROFILES: list[dict[str, Any]] = [
    {
        "email": "ada@example.org",
        "name": 'Ada "the Countess" Lovelace, Jr.\nof London',
        "status": "paused",
        "topics": ["spiking neural networks", "graph networks, sparse", "-ish things"],
        "exclude": ["crypto"],
        "authors": ["Hinton, Geoffrey", "Zoë Ñandú"],
        "papers": ["2401.01234", "2312.00001"],
        "library": ["arxiv:2401.09999", "title:attention is all you need"],
        "max_papers": 25,
        "min_upvotes": 3,
        "timezone": "Europe/Paris",
        "send_at": "18:30",
        "frequency": "weekly",
        "weekday": "friday",
    },
    {"email": "=cmd@example.org", "name": '=HYPERLINK("http://x")', "topics": ["+1", "@home"]},
    {"email": "+tag@example.org", "name": "'=already quoted", "topics": ["'-twice"]},
    {"email": "gone@example.org", "name": "@everyone", "topics": ["x"], "status": "unsubscribed"},
]


def test_export_then_import_on_a_fresh_database_round_trips(
    run: Run, site: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(site / "seed.json", json.dumps(PROFILES))
    assert run("subscribers", "import", "seed.json").lines == ["4 imported, 0 updated, 0 refused"]
    as_csv = run("subscribers", "export").out
    as_json = run("subscribers", "export", "--format", "json").out
    assert [r["email"] for r in json.loads(as_json)] == [
        "+tag@example.org",
        "=cmd@example.org",
        "ada@example.org",
        "gone@example.org",
    ]
    for name, text in (("back.csv", as_csv), ("back.json", as_json)):
        fresh = f"sqlite:///{site / (name + '.db')}"
        monkeypatch.setenv("NEWSLETTER_DATABASE_URL", fresh)
        write(site / name, text)
        done = run("subscribers", "import", name)
        assert (done.code, done.lines) == (0, ["4 imported, 0 updated, 0 refused"]), done
        assert run("subscribers", "export").out == as_csv
        assert run("subscribers", "export", "--format", "json").out == as_json


def test_csv_export_defuses_formulas_and_joins_lists(run: Run, site: Path) -> None:
    write(site / "seed.json", json.dumps(PROFILES))
    assert run("subscribers", "import", "seed.json").code == 0
    lines = run("subscribers", "export", "--status", "active").out.splitlines()
    assert lines == [
        ",".join(bulk.COLUMNS),
        "'+tag@example.org,''=already quoted,active,''-twice,,,,,10,0,UTC,07:00,daily,monday,true,"
        "short,true,,",
        '\'=cmd@example.org,"\'=HYPERLINK(""http://x"")",active,\'+1; @home,,,,,10,0,UTC,07:00,'
        "daily,monday,true,short,true,,",
    ]
    paused = json.loads(run("subscribers", "export", "--format", "json", "--status", "paused").out)
    assert paused[0]["papers"] == ["2401.01234", "2312.00001"]
    assert paused[0]["library"] == ["arxiv:2401.09999", "title:attention is all you need"]
    assert (paused[0]["weekday"], paused[0]["send_at"], paused[0]["active"]) == (
        "friday",
        "18:30",
        False,
    )


def test_export_to_a_file_takes_the_format_from_its_suffix(run: Run, site: Path) -> None:
    write(site / "a.csv", "email,topics\nada@example.org,robots\n")
    assert run("subscribers", "import", "a.csv").code == 0
    done = run("subscribers", "export", "--out", "out.json")
    assert (done.code, done.lines) == (0, ["1 subscribers written to out.json"])
    assert json.loads((site / "out.json").read_text())[0]["topics"] == ["robots"]
    assert run("subscribers", "export", "--out", "out.csv").code == 0
    assert (site / "out.csv").read_bytes().startswith(b"email,name,status,topics,")
    done = run("subscribers", "export", "--out", "missing/out.csv")
    assert (done.code, done.err) == (
        2,
        "error: missing/out.csv: cannot write: No such file or directory\n",
    )


def test_excel_csv_with_bom_semicolons_and_crlf(run: Run, site: Path, engine: Engine) -> None:
    (site / "excel.csv").write_bytes(
        b"\xef\xbb\xbfEmail;Name;Topics;\r\n"
        b'ada@example.org;"Lovelace; Ada";"spiking neural networks; robots";\r\n'
        b";;;\r\n"
        b"bob@example.org;Bob;x;;;\r\n"
    )
    done = run("subscribers", "import", "excel.csv")
    assert (done.code, done.lines) == (0, ["2 imported, 0 updated, 0 refused"])
    ada = stored(engine)["ada@example.org"].subscriber
    assert (ada.name, ada.topics) == ("Lovelace; Ada", ("spiking neural networks", "robots"))
    write(site / "tabs.csv", "email\ttopics\ncy@example.org\trobots\n")
    assert run("subscribers", "import", "tabs.csv").lines == ["1 imported, 0 updated, 0 refused"]


def test_json_rows_are_checked_one_by_one(run: Run, site: Path, engine: Engine) -> None:
    rows = [
        {"email": "ada@example.org", "name": None, "topics": ["robots"], "max_papers": 5},
        "bob@example.org",
        {"email": "cy@example.org", "topics": "robots", "phone": "\x1b[31m"},
        {"email": "di@example.org", "topics": ["x"], "max_papers": "5"},
    ]
    write(site / "people.json", json.dumps(rows))
    done = run("subscribers", "import", "people.json")
    assert done.code == 1
    assert done.lines == [
        "people.json:row 2: not an object: a string",
        f"people.json:row 3: unknown field 'phone' (known: {KNOWN})",
        "people.json:row 4: field 'max_papers': must be a whole number from 1 to 100, not '5'",
        "1 imported, 0 updated, 3 refused",
    ]
    assert stored(engine)["ada@example.org"].subscriber.max_papers == 5


def test_a_row_with_more_cells_than_the_header_is_refused(run: Run, site: Path) -> None:
    write(site / "a.csv", "email,topics\nada@example.org,robots,extra\nbob@example.org,x,\n")
    done = run("subscribers", "import", "a.csv")
    assert done.lines == [
        "a.csv:row 2: 3 cells but the header names 2 columns",
        "1 imported, 0 updated, 1 refused",
    ]


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        (
            "empty.csv",
            b"",
            "empty.csv: empty file; expected a header row such as 'email,name,topics'",
        ),
        ("blank.json", b" \n", "blank.json: empty file; expected a JSON list"),
        ("people.txt", b"email\n", "people.txt: unknown format; name the file .csv or .json"),
        (
            "latin1.csv",
            b"email,topics\na@x.org,caf\xe9\n",
            'latin1.csv: not UTF-8 text (byte 0xe9 at offset 24); save it as "CSV UTF-8"',
        ),
        (
            "latin1.json",
            b'[{"email": "a@x.org", "topics": ["caf\xe9"]}]',
            "latin1.json: not UTF-8 text (byte 0xe9 at offset 37); save it as UTF-8",
        ),
        (
            "noemail.csv",
            b"name,topics\nAda,robots\n",
            "noemail.csv: no 'email' column in the header row (it has name, topics)",
        ),
        (
            "phone.csv",
            b"email,Phone,topics\na@x.org,1,x\n",
            f"phone.csv: unknown column 'Phone' (known: {KNOWN})",
        ),
        ("twice.csv", b"email,topics,Email\n", "twice.csv: column 'Email' appears twice"),
        ("hole.csv", b"email,,topics\n", "hole.csv: column 2 of the header has no name"),
        (
            "obj.json",
            b'{"email": "a@x.org"}',
            "obj.json: expected a JSON list of objects, not an object",
        ),
        ("bad.json", b"[1,", "bad.json: invalid JSON: Expecting value: line 1 column 4 (char 3)"),
        ("deep.json", b"[" * 100_000, "deep.json: invalid JSON: nested too deeply"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_line_and_exit_2(
    run: Run, site: Path, engine: Engine, name: str, body: bytes, message: str
) -> None:
    (site / name).write_bytes(body)
    done = run("subscribers", "import", name)
    assert (done.code, done.out, done.err) == (2, "", f"error: {message}\n")
    assert stored(engine) == {}


def test_a_missing_file_from_a_real_process(site: Path, database_url: str) -> None:
    command = [sys.executable, "-m", "newsletter", "--config", "newsletter.toml"]
    env = os.environ | {"NEWSLETTER_DATABASE_URL": database_url}
    done = subprocess.run(
        [*command, "subscribers", "import", "nope.csv"],
        capture_output=True,
        text=True,
        cwd=site,
        env=env,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        2,
        "",
        "error: nope.csv: file not found\n",
    )


@pytest.mark.slow
def test_ten_thousand_rows_import_in_one_transaction_in_seconds(
    run: Run, site: Path, engine: Engine
) -> None:
    rows = "".join(
        f"reader{i}@example.org,Reader {i},topic {i % 50}; robots,Europe/Paris,weekly,friday\n"
        for i in range(10_000)
    )
    write(site / "big.csv", "email,name,topics,timezone,frequency,weekday\n" + rows)
    started = time.perf_counter()
    done = run("subscribers", "import", "big.csv")
    elapsed = time.perf_counter() - started
    assert (done.code, done.lines) == (0, ["10000 imported, 0 updated, 0 refused"])
    assert done.commits == 1
    # A real clock, as a guard against work that grows with the square of the rows, not a
    # benchmark: 11 s on SQLite and 29 s on PostgreSQL here while the 2-core machine was busy.
    assert elapsed < 60, f"10,000 rows took {elapsed:.1f} s"
    found = stored(engine)
    assert len(found) == 10_000
    assert found["reader9999@example.org"].subscriber.weekday == 4


MAILCHIMP = (
    '"Email Address","First Name","Last Name",Address,"Phone Number",MEMBER_RATING,OPTIN_TIME,'
    "OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,"
    "LAST_CHANGED,LEID,EUID,NOTES,TAGS\n"
    'ada@example.org,Ada,Lovelace,,,2,"2024-01-02 10:00:00",,"2024-01-02 10:01:00",,,,,,'
    "Europe/London,GB,,\"2024-03-01 09:00:00\",123,abc,,\n"
    "grace@example.org,Grace,,,,3,,,,,,,,,,,,,124,abd,,\n"
)


def test_an_address_only_list_takes_its_topics_from_the_command(
    run: Run, site: Path, engine: Engine
) -> None:
    write(site / "list.csv", "email\nada@example.org\ngrace@example.org\n")
    refused = run("subscribers", "import", "list.csv")
    assert refused.code == 2 and refused.out == "" and stored(engine) == {}
    assert refused.err.strip().splitlines() == [
        'error: list.csv: no row gives topics, papers or a library; give every reader the same '
        'topics with --topics, e.g. --topics "robotics; machine learning"'
    ]
    done = run("subscribers", "import", "list.csv", "--topics", "robotics; machine learning")
    assert (done.code, done.lines) == (0, ["2 imported, 0 updated, 0 refused"])
    assert {e: s.subscriber.topics for e, s in stored(engine).items()} == dict.fromkeys(
        ["ada@example.org", "grace@example.org"], ("robotics", "machine learning"))


def test_a_mailchimp_export_is_read_by_its_column_names(
    run: Run, site: Path, engine: Engine
) -> None:
    write(site / "subscribed_members_export.csv", MAILCHIMP)
    dry = run("subscribers", "import", "subscribed_members_export.csv", "--topics", "robotics",
              "--dry-run")
    assert dry.code == 0 and stored(engine) == {}
    assert dry.lines[-1] == (
        "2 would be imported, 0 would be updated, 0 refused (dry run: nothing written)")
    assert dry.lines[0] == (
        "subscribed_members_export.csv: read as a Mailchimp export; ignored its columns "
        "Address, Phone Number, MEMBER_RATING, OPTIN_TIME, OPTIN_IP, CONFIRM_TIME, CONFIRM_IP, "
        "LATITUDE, LONGITUDE, GMTOFF, DSTOFF, CC, REGION, LAST_CHANGED, LEID, EUID, NOTES, TAGS")
    done = run("subscribers", "import", "subscribed_members_export.csv", "--topics", "robotics")
    assert (done.code, done.lines[-1]) == (0, "2 imported, 0 updated, 0 refused")
    found = stored(engine)
    ada = found["ada@example.org"].subscriber
    assert (ada.name, ada.timezone, ada.topics) == ("Ada Lovelace", "Europe/London", ("robotics",))
    assert found["grace@example.org"].subscriber.name == "Grace"
    gone = ('"Email Address","First Name",UNSUB_TIME,UNSUB_CAMPAIGN_TITLE\n'
            'alan@example.org,Alan,"2024-05-01 10:00:00",Weekly\n')
    write(site / "unsubscribed_members_export.csv", gone)
    done = run("subscribers", "import", "unsubscribed_members_export.csv", "--topics", "x")
    assert done.lines[0] == ("unsubscribed_members_export.csv: read as a Mailchimp export "
                             "(1 unsubscribed there: kept as unsubscribed, never sent); "
                             "ignored its columns UNSUB_CAMPAIGN_TITLE")
    assert stored(engine)["alan@example.org"].status == "unsubscribed"
    cleaned = '"Email Address",CLEAN_TIME,CLEAN_CAMPAIGN_TITLE\nbad@example.org,"2024-05-01",W\n'
    write(site / "cleaned_members_export.csv", cleaned)
    done = run("subscribers", "import", "cleaned_members_export.csv", "--topics", "x")
    assert done.code == 0 and done.lines[0] == (
        "cleaned_members_export.csv:row 2: bad@example.org cleaned by Mailchimp (its address "
        "bounced); skipped")
    assert done.lines[-1] == "0 imported, 0 updated, 0 refused, 1 skipped"


@pytest.mark.parametrize(
    ("name", "text", "statuses"),
    [
        ("listmonk", "uuid,email,name,attributes,status,created_at,updated_at\n"
         'u1,ada@example.org,Ada,"{""city"": ""Paris""}",enabled,2024-01-01,2024-01-01\n'
         "u2,bob@example.org,Bob,{},blocklisted,2024-01-01,2024-01-01\n"
         "u3,cy@example.org,Cy,{},disabled,2024-01-01,2024-01-01\n",
         {"ada@example.org": "active", "bob@example.org": "unsubscribed",
          "cy@example.org": "paused"}),
        ("Substack", "email,active_subscription,expiry,plan,email_disabled,created_at\n"
         "ada@example.org,true,,free,false,2024-01-01T00:00:00.000Z\n"
         "bob@example.org,true,,free,true,2024-01-01T00:00:00.000Z\n",
         {"ada@example.org": "active", "bob@example.org": "unsubscribed"}),
        ("Buttondown", "email,notes,metadata,tags,creation_date,subscriber_type\n"
         "ada@example.org,,{},,2024-01-01,regular\n"
         "bob@example.org,,{},,2024-01-01,unsubscribed\n"
         "cy@example.org,,{},,2024-01-01,unactivated\n",
         {"ada@example.org": "active", "bob@example.org": "unsubscribed"}),
    ],
)
def test_listmonk_substack_and_buttondown_exports_keep_their_statuses(
    run: Run, site: Path, engine: Engine, name: str, text: str, statuses: dict[str, str]
) -> None:
    write(site / "export.csv", text)
    done = run("subscribers", "import", "export.csv", "--topics", "robotics")
    assert done.code == 0, done
    assert any(line.startswith(f"export.csv: read as a {name} export") for line in done.lines)
    assert {e: s.status for e, s in stored(engine).items()} == statuses
    if name == "Buttondown":
        assert ("export.csv:row 4: cy@example.org never confirmed their address (Buttondown: "
                "unactivated); skipped") in done.lines


def test_our_own_format_still_refuses_an_unknown_column(run: Run, site: Path) -> None:
    write(site / "typo.csv", "email,topcis\nada@example.org,robots\n")
    done = run("subscribers", "import", "typo.csv")
    assert done.code == 2 and "unknown column 'topcis'" in done.err
