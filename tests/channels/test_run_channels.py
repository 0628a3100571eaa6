"""One ``newsletter run`` delivers one issue to an email reader (an SMTP relay on loopback)
and to loopback fakes of all six channel kinds, each checking the platform's documented
payload shape and limits; the webhook's HMAC verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from newsletter.app.queued_issue import restore
from newsletter.cli import cli
from newsletter.render.sections import sectioned
from newsletter.store import open_engine
from newsletter.store import outbox as store
from newsletter.store.papers import papers_by_keys
from tests.channels.conftest import KINDS, SECRET_KEY, write_project
from tests.channels.fakes import channel_config, platforms
from tests.delivery.smtp_sink import Sink


def invoke(config: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    runner = CliRunner(env={"NEWSLETTER_SECRET_KEY": SECRET_KEY, **env})
    result = runner.invoke(cli, ["--config", str(config), *args], catch_exceptions=False,
                           standalone_mode=False)
    return result.exit_code or int(result.return_value or 0), result.output


def issue_rows(folder: Path) -> dict[str, tuple[str, list[str]]]:
    """Each outbox row's recipient: its status and the titles of its picks, in the order a
    reader meets them (under their sections, for a reader of several topics)."""
    engine = open_engine(f"sqlite:///{folder / 'news.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(store.WITH_ISSUE).mappings().all()
            keys = [k for r in rows for k in store.issue_keys(r["issue"])]
            papers = papers_by_keys(conn, keys)
            out = {}
            for r in rows:
                issue = restore(r["issue"], papers)
                assert not isinstance(issue, str), issue
                groups = sectioned(issue.subscriber, issue.picks) or [("", list(issue.picks))]
                out[r["recipient"]] = (r["status"], [p.paper.title for _, g in groups for p in g])
            return out
    finally:
        engine.dispose()


@pytest.mark.slow
def test_one_run_reaches_an_inbox_and_all_six_channel_kinds(seeds_dir: Path,
                                                            tmp_path: Path) -> None:
    seeds = sorted(str(p) for p in seeds_dir.glob("*.txt"))
    with Sink() as sink, platforms() as fakes:
        tables, env = channel_config(fakes)
        config = write_project(tmp_path, seeds, sink.port, tables)
        code, out = invoke(config, env, "run")
        received = dict(sink.received)
    assert code == 0, out
    rows = issue_rows(tmp_path)
    assert len(rows) == 7, rows.keys()
    assert {status for status, _ in rows.values()} == {"sent"}, out
    assert len(received) == 1 and set(received.values()) == {1}, "one email, once"
    for kind in KINDS:
        fake = fakes[kind]
        _, titles = rows[f"lab-{kind}@channels.invalid"]
        assert titles, f"{kind}: nothing matched, the test proves nothing"
        seen = "\n".join(fake.seen)
        for title in titles:  # every pick reached the channel, once, in order
            assert seen.count(" ".join(title.split())) >= 1, (kind, title)
        positions = [seen.index(" ".join(t.split())) for t in titles]
        assert positions == sorted(positions), f"{kind}: papers out of order"
        assert f"Papers for Lab {kind} <&> \u2014" in seen, f"{kind}: heading escaped wrong"
    # a long issue is split into ordered parts, not cut: Telegram's 4,096 characters
    assert len(fakes["telegram"].posts) > 1
    assert [p["text"].split("\n")[0] for p in fakes["telegram"].posts][1].endswith(
        f"(2/{len(fakes['telegram'].posts)})</b>")
    assert fakes["webhook"].keys and len(set(fakes["webhook"].keys)) == len(fakes["webhook"].keys)


def test_channel_reader_needs_a_configured_channel_to_be_sent(tmp_path: Path,
                                                               seeds_dir: Path) -> None:
    seeds = sorted(str(p) for p in seeds_dir.glob("*.txt"))
    with Sink() as sink:
        config = write_project(tmp_path, seeds, sink.port, {})
        (tmp_path / "subscribers" / "ghost.toml").write_text(
            'channel = "ghost"\ntopics = ["language models"]\nsend_at = "00:00"\n',
            encoding="utf-8")
        code, out = invoke(config, {}, "run")
    rows = issue_rows(tmp_path)
    status, _ = rows["ghost@channels.invalid"]
    assert status == "failed"
    engine = open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    with engine.connect() as conn:
        error = conn.execute(sa.select(store.outbox.c.last_error).where(
            store.outbox.c.recipient == "ghost@channels.invalid")).scalar_one()
    engine.dispose()
    assert error == ("cannot render the issue: " + str(config) + ": channel 'ghost' is not "
                     "configured (add a [channels.ghost] table; configured: none)"), error
    assert code == 1 and "failed 1" in out
