"""Preview is the issue: ``preview``, ``preview --serve`` (in Chromium), the web copy and the
sent message show the same papers in the same order for one reader and day, before the issue
is enqueued and after it was sent; an earlier day that has no issue says so."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from newsletter.app.accounts import Site
from newsletter.app.preview import PreviewIssues, issue_maker, preview_renderer
from newsletter.app.run import deliver
from newsletter.app.stages import Stages
from newsletter.cli import cli
from newsletter.config import Config, load_config
from newsletter.delivery.base import MailerEnv, NoOptions
from newsletter.delivery.memory import MemoryMailer
from newsletter.models import Paper
from newsletter.store import open_engine
from newsletter.store.papers import upsert_papers
from newsletter.web.app import create_app
from newsletter.web.preview import PreviewSite, make_server, server_url
from tests.web.test_browser import in_own_thread

ENV = {"NEWSLETTER_SECRET_KEY": "preview-is-the-issue-secret-0123"}
READER = "ada@example.org"
SPIKING = [
    "Spiking neural networks on chips",
    "Surrogate gradients for spiking nets",
    "Spiking neural networks for keywords",
    "Spiking transformers at low power",
    "Event cameras and spiking neural networks",
    "Spiking neural networks in robots",
]
NUMBERED = re.compile(r"^\s*\d+\. (.+?)\s*$", re.MULTILINE)


def titles(text: str) -> list[str]:
    """The papers an issue lists, in order (its table of contents, then its cards)."""
    return list(dict.fromkeys(NUMBERED.findall(text.replace("\r\n", "\n"))))


@pytest.fixture
def newsletter(tmp_path: Path) -> Iterator[tuple[Path, Config, Engine]]:
    (tmp_path / "subscribers").mkdir()
    (tmp_path / "subscribers" / "ada.toml").write_text(
        f'email = "{READER}"\ntopics = ["spiking neural networks"]\nsend_at = "00:00"\n'
    )
    path = tmp_path / "newsletter.toml"
    path.write_text(
        f'[newsletter]\ndatabase_url = "sqlite:///{tmp_path / "n.db"}"\n'
        'base_url = "http://testserver"\n[match]\nsemantic = false\n'
        '[mailers.mem]\nbackend = "memory"\n[delivery]\nmailer = "mem"\n'
    )
    config = load_config(path, ENV)
    engine = open_engine(config.database_url)
    papers = [Paper(title=t, abstract=f"{t}: spiking neural networks, measured.",
                    arxiv_id=f"2606.{n:05d}", upvotes=10 * n) for n, t in enumerate(SPIKING, 1)]
    papers.append(Paper(title="Protein folding benchmarks", abstract="Proteins.",
                        arxiv_id="2606.00099"))
    with engine.begin() as conn:
        upsert_papers(conn, papers, "test", datetime.now(UTC) - timedelta(minutes=1))
    yield path, config, engine
    engine.dispose()


def cli_preview(path: Path, out: Path) -> list[str]:
    result = CliRunner(env=ENV).invoke(
        cli, ["--config", str(path), "preview", "--subscriber", READER, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return titles(next(out.glob("*.txt")).read_text())


def page_issue(config: Config, engine: Engine, day: Any, part: str = "text") -> str:
    site = PreviewSite(PreviewIssues(preview_renderer(config), issue_maker(config, engine, []),
                                     [READER], [day]))
    status, _, body = site.respond(f"/issue?subscriber={READER}&date={day}&part={part}")
    assert status == 200
    return body.decode()


def test_preview_serve_the_web_copy_and_the_message_list_one_issue(
    newsletter: tuple[Path, Config, Engine], tmp_path: Path
) -> None:
    path, config, engine = newsletter
    today = datetime.now(UTC).date()
    before = cli_preview(path, tmp_path / "before")
    assert len(before) == len(SPIKING)
    assert titles(page_issue(config, engine, today)) == before

    mailer = MemoryMailer("mem", NoOptions(), MailerEnv(config.secrets, tmp_path))
    report, sent = deliver(Stages.build(config, engine), datetime.now(UTC), mailer)
    assert report.enqueued == 1 and sent is not None and sent.sent == 1
    message = mailer.outbox[-1]
    assert titles(message.text) == before

    assert cli_preview(path, tmp_path / "after") == before
    assert titles(page_issue(config, engine, today)) == before
    web_copy = next(v for k, v in message.headers if k == "Archived-At").strip("<>")
    with TestClient(create_app(Site(config, engine, lambda: mailer))) as client:
        copy = client.get(web_copy.removeprefix("http://testserver"))
    assert copy.status_code == 200
    assert titles(re.sub(r"<[^>]+>", "\n", copy.text)) == before

    yesterday = today - timedelta(days=1)
    note = page_issue(config, engine, yesterday)
    assert note == (f"No issue for {READER} on {yesterday}: none was enqueued or sent for that "
                    "day ('newsletter status' tells why)")
    result = CliRunner(env=ENV).invoke(cli, [
        "--config", str(path), "preview", "--subscriber", READER, "--date", str(yesterday),
        "--out", str(tmp_path / "yesterday")])
    assert result.exit_code == 0 and f"No issue for {READER} on {yesterday}" in result.output
    assert not (tmp_path / "yesterday").exists()


@pytest.mark.slow
def test_the_preview_page_in_a_browser_shows_the_sent_issue(
    newsletter: tuple[Path, Config, Engine], tmp_path: Path
) -> None:
    _, config, engine = newsletter
    mailer = MemoryMailer("mem", NoOptions(), MailerEnv(config.secrets, tmp_path))
    deliver(Stages.build(config, engine), datetime.now(UTC), mailer)
    sent = titles(mailer.outbox[-1].text)
    today = datetime.now(UTC).date()
    days = [today, today - timedelta(days=1)]
    site = PreviewSite(PreviewIssues(preview_renderer(config), issue_maker(config, engine, []),
                                     [READER], days))
    server = make_server(site, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        in_own_thread(lambda browser: look(browser, server_url(server), sent, days))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def look(browser: Any, url: str, sent: list[str], days: list[Any]) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.wait_for_function("document.getElementById('subject').textContent.length > 0")
    assert sent[0] in page.inner_text("#subject")
    frame = page.frame_locator("#frame")
    frame.locator("text=In this issue").wait_for()
    assert titles(frame.locator("body").inner_text()) == sent
    page.click(f"a[data-date='{days[1]}']")
    frame.locator(f"text=No issue for {READER} on {days[1]}").wait_for()
    assert page.inner_text("#subject") == ""
    page.close()
