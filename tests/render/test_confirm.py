"""The double opt-in confirmation email: what it lists, escaping, errors, phone and dark mode."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from newsletter.errors import RenderError
from newsletter.models import Subscriber
from newsletter.render import mjml
from newsletter.render.confirm import ConfirmRenderer

from .render_samples import HOSTILE_TITLE, NEWSLETTER
from .test_browser import check, measure

LINK = "https://digest.example.org/confirm?token=eyJwIjoiY29uZmlybSJ9.c2lnbmVk&x=1"
READER = Subscriber(
    email="ada@example.org",
    topics=("graph neural networks", HOSTILE_TITLE),
    exclude=("protein folding",),
    authors=("Zoë Ünal",),
    papers=("2401.01234",),
    library=("arxiv:2306.17670", "title:a paper without an id"),
)


def test_html_and_text_list_what_the_reader_asked_for() -> None:
    out = ConfirmRenderer(NEWSLETTER).render(READER, LINK, timedelta(hours=48))
    assert out.subject == "Confirm your subscription to Paper Digest"
    assert f'href="{LINK.replace("&", "&amp;")}"' in out.html
    for shown in ("graph neural networks", "protein folding", "Zoë Ünal"):
        assert f'<li dir="auto">{shown}</li>' in out.html
        assert f"  - {shown}\n" in out.text
    assert "<script>" not in out.html and "&lt;script&gt;alert(&#34;x&#34;)" in out.html
    assert "Papers close to the 3 papers you liked." in out.html and "the 3 papers" in out.text
    assert "The button works for 48 hours." in out.html and f"48 hours:\n\n{LINK}\n" in out.text
    assert "If you did not sign up, ignore this email" in out.html
    assert "If you did not sign up, ignore this email" in out.text
    assert NEWSLETTER.postal_address in out.html and out.preheader in out.html


def test_a_reader_with_topics_only_and_a_short_link() -> None:
    reader = Subscriber(email="bo@example.org", topics=("exoplanets",))
    out = ConfirmRenderer(NEWSLETTER).render(reader, LINK, timedelta(minutes=30))
    assert "Never about" not in out.html and "you liked" not in out.html
    assert "within 30 minutes" in out.text


def test_compiled_once_and_a_user_file_wins(tmp_path: Path) -> None:
    mjml.clear_cache()
    ConfirmRenderer(NEWSLETTER)
    ConfirmRenderer(NEWSLETTER, tmp_path)
    assert len(mjml._CACHE) == 1
    (tmp_path / "confirm.txt").write_text("CUSTOM {{ link }}\n")
    out = ConfirmRenderer(NEWSLETTER, tmp_path).render(READER, LINK, timedelta(hours=1))
    assert out.text == f"CUSTOM {LINK}\n"


def test_an_error_in_the_template_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "confirm.mjml").write_text(
        "<mjml><mj-body><mj-section><mj-column>\n<mj-text>{{ reader.email }}</mj-text>\n"
        "</mj-column></mj-section></mj-body></mjml>\n"
    )
    renderer = ConfirmRenderer(NEWSLETTER, tmp_path)
    with pytest.raises(RenderError, match=r"confirm\.mjml:2: 'reader' is undefined"):
        renderer.render(READER, LINK, timedelta(hours=1))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_readable_on_a_phone_in_light_and_dark_mode(browser: Any, scheme: str) -> None:
    html = ConfirmRenderer(NEWSLETTER).render(READER, LINK, timedelta(hours=48)).html
    check(measure(browser, html, 375, scheme))
