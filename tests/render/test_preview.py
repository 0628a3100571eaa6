"""``newsletter preview``: the written .html/.txt/.eml files, the CLI, and the local page."""

from __future__ import annotations

import email
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from newsletter.app import issue as app_issue
from newsletter.app.preview import PreviewIssues, file_stem, mime_maker, write_preview
from newsletter.cli import cli
from newsletter.config import Config, EmailSettings
from newsletter.models import Issue, IssueLinks
from newsletter.render import Renderer
from newsletter.web.preview import PreviewSite, make_server, server_url

from .render_samples import NEWSLETTER, SUBSCRIBER, make_issue, make_links
from .test_templates import CARD

DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 7, tzinfo=UTC)


def sample(subscriber: str, day: date) -> tuple[Issue, IssueLinks]:
    """Stands in for the application's matching: 3 papers for Ada, nothing for anyone else."""
    issue = make_issue(3 if subscriber == SUBSCRIBER.email else 0)
    issue = Issue(issue.subscriber, day, issue.picks)
    return issue, make_links(issue)


def unwire(text: str) -> str:
    """A MIME part's text without the CRLF line ends and final newline of the wire format."""
    return text.replace("\r\n", "\n").rstrip("\n")


def parse_eml(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    return message


def test_preview_writes_html_text_and_the_full_message(tmp_path: Path, make_config: Any) -> None:
    config: Config = make_config({"newsletter": {"sender": "Digest <d@digest.example.org>"}})
    renderer = Renderer(NEWSLETTER, EmailSettings(), None)
    issue, links = sample(SUBSCRIBER.email, DAY)
    paths = write_preview(renderer, issue, links, tmp_path / "out", mime_maker(config, lambda: NOW))
    stem = "ada@example.org-2026-11-23"
    assert [p.name for p in paths] == [f"{stem}.html", f"{stem}.txt", f"{stem}.eml"]
    rendered = renderer.render(issue, links)
    assert rendered is not None
    assert paths[0].read_text() == rendered.html and paths[1].read_text() == rendered.text
    message = parse_eml(paths[2])
    assert message["Subject"] == rendered.subject
    assert message["To"] == "Ada <ada@example.org>"
    assert links.unsubscribe in message["List-Unsubscribe"]
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    assert unwire(html_part.get_content()) == rendered.html.rstrip("\n")
    assert unwire(text_part.get_content()) == rendered.text.rstrip("\n")
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_quiet_day_writes_nothing(tmp_path: Path, make_config: Any) -> None:
    renderer = Renderer(NEWSLETTER, EmailSettings(), None)
    issue, links = sample("nobody@example.org", DAY)
    out = tmp_path / "out"
    assert write_preview(renderer, issue, links, out, mime_maker(make_config(), lambda: NOW)) == []
    assert not out.exists()


@pytest.mark.parametrize(
    ("address", "stem"),
    [
        ("ada@example.org", "ada@example.org-2026-11-23"),
        ("../../etc/x@y.org", "_.._etc_x@y.org-2026-11-23"),
        ("a b/c\\d@e.org", "a_b_c_d@e.org-2026-11-23"),
    ],
)
def test_file_names_stay_inside_the_output_folder(address: str, stem: str) -> None:
    assert file_stem(address, DAY) == stem
    assert "/" not in file_stem(address, DAY)


@pytest.fixture
def cli_config(tmp_path: Path) -> Path:
    path = tmp_path / "newsletter.toml"
    path.write_text(
        '[newsletter]\nsender = "Digest <d@digest.example.org>"\n'
        f'database_url = "sqlite:///{tmp_path / "n.db"}"\n'
    )
    return path


def test_cli_writes_the_three_files(
    tmp_path: Path, cli_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, date, list[str]]] = []

    def preview_issue(parts: Any, ref: str, day: date, sources: list[str]) -> Any:
        seen.append((ref, day, sources))
        return sample(ref, day)

    # The application's matching is tested on its own; here it hands over fixed sample issues.
    monkeypatch.setattr(app_issue, "preview_issue", preview_issue)
    out = tmp_path / "out"
    args = ["--config", str(cli_config), "preview", "--subscriber", SUBSCRIBER.email]
    args += ["--date", "2026-11-23", "--source", "page.txt", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert seen == [(SUBSCRIBER.email, DAY, ["page.txt"])]
    for suffix in ("html", "txt", "eml"):
        assert f"ada@example.org-2026-11-23.{suffix}" in result.output
        assert (out / f"ada@example.org-2026-11-23.{suffix}").is_file()


def test_cli_needs_a_subscriber_or_serve(cli_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_issue, "preview_issue", lambda *a: sample(*a[1:3]))
    result = CliRunner().invoke(cli, ["--config", str(cli_config), "preview"])
    assert result.exit_code == 2 and "--subscriber" in result.output


class Site:
    def __init__(self, site: PreviewSite, url: str, user_dir: Path) -> None:
        self.site, self.url, self.user_dir = site, url, user_dir

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Site]:
    user_dir = tmp_path / "templates"
    user_dir.mkdir()
    renderer = Renderer(NEWSLETTER, EmailSettings(), user_dir)
    readers = [SUBSCRIBER.email, "bob@example.org"]
    site = PreviewSite(PreviewIssues(renderer, sample, readers, [DAY]))
    server = make_server(site, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(site, server_url(server), user_dir)
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_page_lists_subscribers_and_dates(served: Site) -> None:
    status, page = served.get("/")
    assert status == 200
    assert 'data-subscriber="ada@example.org" data-date="2026-11-23"' in page
    assert "bob@example.org" in page and "Phone 375 px" in page


def test_issue_html_text_subject_and_quiet_day(served: Site) -> None:
    query = "subscriber=ada@example.org&date=2026-11-23"
    assert "Neural decoding" in served.get(f"/issue?{query}")[1]
    assert "Unsubscribe: https://" in served.get(f"/issue?{query}&part=text")[1]
    assert served.get(f"/subject?{query}")[1].startswith("Paper Digest, Nov 23, 2026:")
    quiet = served.get("/issue?subscriber=bob@example.org&date=2026-11-23")[1]
    assert "No email for bob@example.org on 2026-11-23" in quiet
    assert served.get("/issue?subscriber=x")[0] == 400
    assert served.get("/nope")[0] == 404


def test_template_change_shows_up_and_errors_name_the_line(served: Site) -> None:
    query = "/issue?subscriber=ada@example.org&date=2026-11-23"
    before = served.get("/version")[1]
    (served.user_dir / "card.mjml").write_text(CARD)
    assert served.get("/version")[1] != before
    assert "CUSTOM CARD Neural decoding" in served.get(query)[1]
    (served.user_dir / "card.mjml").write_text(CARD.replace("card.title", "card.nope"))
    status, body = served.get(query)
    assert status == 500 and "card.mjml:4:" in body and body.startswith("error: ")


def test_a_broken_template_is_reported_and_then_recovers(served: Site) -> None:
    query = "/issue?subscriber=ada@example.org&date=2026-11-23"
    (served.user_dir / "footer.mjml").write_text("<mj-section>{% if %}</mj-section>\n")
    assert served.get("/version")[0] == 200
    status, body = served.get(query)
    assert status == 500 and "footer.mjml:1:" in body
    (served.user_dir / "footer.mjml").unlink()
    assert served.get(query)[0] == 200


def frame_text(page: Any, expression: str = "document.body.innerText") -> Any:
    """Evaluate in the email frame, retrying while the page is reloading it."""
    from playwright.sync_api import Error

    for _ in range(50):
        try:
            page.frame_locator("#frame").locator("body").wait_for()
            return page.frames[1].evaluate(expression)
        except (Error, IndexError):  # the frame navigated away under us
            page.wait_for_timeout(100)
    raise AssertionError("the email frame never settled")


def test_page_in_a_browser_toggles_width_and_text_and_reloads(browser: Any, served: Site) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.goto(served.url)
        page.wait_for_function("document.getElementById('subject').textContent.length > 0")
        assert "Neural decoding" in frame_text(page)
        page.click("text=Phone 375 px")
        page.wait_for_function("document.getElementById('frame').width === '375'")
        page.wait_for_function("window.frames.length === 1")
        sizes = frame_text(page, "[innerWidth, document.documentElement.scrollWidth]")
        assert sizes[1] <= sizes[0] <= 375
        page.click("text=Text")
        page.wait_for_function("document.getElementById('frame').src.includes('part=text')")
        page.wait_for_timeout(300)
        assert "Unsubscribe: https://" in frame_text(page)
        page.click("text=HTML")
        (served.user_dir / "card.mjml").write_text(CARD)
        page.wait_for_function("document.getElementById('frame').src.includes('part=html')")
        for _ in range(40):  # the page polls /version every second
            if "CUSTOM CARD" in frame_text(page):
                break
            page.wait_for_timeout(250)
        assert "CUSTOM CARD Neural decoding" in frame_text(page)
    finally:
        page.close()


def test_page_at_390_px_stacks_the_list_above_a_wide_email(browser: Any, served: Site) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(served.url)
        page.wait_for_function("document.getElementById('subject').textContent.length > 0")
        assert "Neural decoding" in frame_text(page)
        layout = page.evaluate(
            """() => ({scroll: document.documentElement.scrollWidth,
                       nav: document.querySelector("nav").getBoundingClientRect().toJSON(),
                       frame: document.getElementById("frame").getBoundingClientRect().toJSON()})"""
        )
        assert layout["scroll"] <= 390, "the page scrolls sideways"
        assert layout["frame"]["width"] >= 350, "the email is squeezed"
        assert layout["frame"]["right"] <= 390
        assert layout["nav"]["bottom"] <= layout["frame"]["top"]  # stacked, not side by side
        assert page.get_attribute("[data-width='375']", "aria-pressed") == "true"
        page.click("text=Desktop 600 px")
        page.wait_for_function("document.getElementById('frame').width === '600'")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        page.close()


def test_cli_end_to_end_sends_and_records_nothing(tmp_path: Path, seeds_dir: Path) -> None:
    """The real composition on a real seed page; the outbox and history stay empty."""
    from sqlalchemy import create_engine

    from newsletter.store.history import sent_keys
    from newsletter.store.outbox import rows_for

    subscriber = tmp_path / "ada.toml"
    subscriber.write_text(
        'email = "ada@example.org"\nname = "Ada"\ntopics = ["decoding brain recordings", '
        '"exoplanet mass radius relations"]\n'
    )
    db = tmp_path / "n.db"
    config = tmp_path / "newsletter.toml"
    # Lexical matching is enough here: the preview path is under test, not the matcher.
    config.write_text(f'[newsletter]\ndatabase_url = "sqlite:///{db}"\n[match]\nsemantic = false\n')
    seed = sorted(seeds_dir.glob("*.txt"))[0]
    args = ["--config", str(config), "preview", "--subscriber", str(subscriber)]
    args += ["--date", "2026-11-23", "--source", str(seed), "--out", str(tmp_path / "out")]
    result = CliRunner(env={"NEWSLETTER_SECRET_KEY": "preview-test-secret"}).invoke(cli, args)
    assert result.exit_code == 0, result.output
    stem = tmp_path / "out" / "ada@example.org-2026-11-23"
    message = parse_eml(Path(f"{stem}.eml"))
    assert "Mass-Radius Relationships for Solid Exoplanets" in message["Subject"]
    text = Path(f"{stem}.txt").read_text()
    assert "Find the paper: https://huggingface.co/papers?q=Mass-Radius" in text
    assert "/unsubscribe?token=" in message["List-Unsubscribe"]
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert rows_for(conn, ["ada@example.org"], "2026-11-23") == {}
        assert sent_keys(conn, "ada@example.org") == set()
    engine.dispose()
