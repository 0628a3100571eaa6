"""The Renderer's output: escaping, links, quiet days, subject safety, size and robustness."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from html import unescape
from typing import Any

import pytest

from newsletter.config import EmailSettings
from newsletter.errors import ConfigError
from newsletter.models import Issue
from newsletter.render import Renderer

from .render_samples import (
    HOSTILE,
    HOSTILE_TITLE,
    NEWSLETTER,
    RTL,
    RTL_TITLE,
    make_issue,
    make_links,
    sectioned_issue,
)

HREF = re.compile(r'href="([^"]*)"')


def visible_text(html: str) -> str:
    body = html.split("<body", 1)[1]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def flat(text: str) -> str:
    """The text part with its line wrapping undone."""
    return " ".join(text.split())


def test_hostile_titles_and_abstracts_render_escaped_and_intact(render_issue: Any) -> None:
    out = render_issue(1, extra=(HOSTILE, RTL))
    assert "<script>" not in out.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;speech&#34;" in out.html
    text = visible_text(out.html)
    for fragment in (HOSTILE_TITLE, RTL_TITLE, "x < y & y > z", "'apostrophes'", "🧠"):
        assert fragment in text
        assert fragment in flat(out.text)
    assert "$\\alpha$-nets" in out.text


def test_unsafe_links_are_dropped_not_rendered(render_issue: Any) -> None:
    out = render_issue(0, extra=(RTL,))
    assert "javascript:" not in out.html and "javascript:" not in out.text
    assert "An AI summary" in out.html and "Summary: An AI summary" in out.text


def test_every_card_has_title_link_pdf_authors_one_reason_and_feedback_links(
    render_issue: Any,
) -> None:
    out = render_issue(3)
    text = visible_text(out.html)
    for i in (1, 2, 3):
        assert text.count(f"Neural decoding of imagined speech, part {i}") >= 2  # list, card
        assert f'href="https://arxiv.org/abs/2603.{10000 + i}"' in out.html  # best landing page
        assert f'href="https://arxiv.org/pdf/2603.{10000 + i}"' in out.html
    assert text.index("In this issue") < text.index("Why you got this")
    assert 'class="tag"' not in out.html  # one reason line, not a pill repeating it
    assert "Ann Lee, Bo Chen, Cy Dee et al." in text
    assert "Why you got this: matched 'brain decoding' in the abstract" in text
    assert "12 upvotes" in text and "Mar 11, 2026" in text
    assert text.count("More like this") == 3 and text.count("Less like this") == 3


def test_text_part_carries_the_same_papers_and_links_as_html(render_issue: Any) -> None:
    out = render_issue(4, extra=(HOSTILE,))
    html_links = {unescape(u) for u in HREF.findall(out.html)}
    text_links = set(re.findall(r"https?://\S+", out.text))
    assert html_links == text_links
    assert "https://digest.example.org/unsubscribe?t=abc&u=1" in text_links
    assert out.text.count("Read the paper: ") == 5


def test_footer_has_unsubscribe_preferences_reason_and_postal_address(render_issue: Any) -> None:
    out = render_issue(2)
    text = visible_text(out.html)
    assert re.search(r'<a href="[^"]*unsubscribe[^"]*"[^>]*>Unsubscribe</a>', out.html)
    assert "Update your preferences" in text
    assert "because ada@example.org subscribed to Paper Digest" in text
    assert NEWSLETTER.postal_address in text and NEWSLETTER.postal_address in out.text


def test_preheader_is_in_the_html_and_short(render_issue: Any) -> None:
    out = render_issue(3)
    assert len(out.preheader) <= 90
    assert out.preheader.startswith("3 papers for you: Neural decoding")
    assert out.preheader in unescape(out.html)


def test_html_is_accessible_and_self_contained(render_issue: Any) -> None:
    html = render_issue(3).html
    assert '<html lang="en"' in html
    assert '<meta name="color-scheme" content="light dark"' in html
    assert "prefers-color-scheme: dark" in html
    assert "<link" not in html and "<script" not in html and "@import" not in html
    assert all('alt="' in img for img in re.findall(r"<img[^>]*>", html))


def test_ten_papers_stay_well_below_the_gmail_clipping_size(render_issue: Any) -> None:
    out = render_issue(10)
    assert len(out.html.encode()) < 90_000


def test_quiet_day_is_skipped_by_default(renderer: Renderer) -> None:
    issue = make_issue(0)
    assert renderer.render(issue, make_links(issue)) is None


def test_quiet_day_can_send_a_short_note() -> None:
    renderer = Renderer(NEWSLETTER, EmailSettings(quiet_day="send"), None)
    issue = make_issue(0)
    out = renderer.render(issue, make_links(issue))
    assert out is not None
    assert "a quiet day" in out.subject
    assert "No new paper matched your topics (brain decoding, exoplanets" in visible_text(out.html)
    assert "A quiet day" in out.text and "unsubscribe?t=abc" in out.text


@pytest.mark.parametrize("bad", ["Bad\r\nBcc: victim@example.org", "Tab\there\x00\x1b\u2028end"])
def test_subject_never_carries_line_breaks_or_control_characters(
    renderer: Renderer, bad: str
) -> None:
    issue = make_issue(1)
    hostile = replace(issue.picks[0], paper=replace(issue.picks[0].paper, title=bad))
    issue = Issue(issue.subscriber, issue.issue_date, (hostile,))
    out = renderer.render(issue, make_links(issue))
    assert out is not None
    assert not re.search(r"[\x00-\x1f\x7f\x85\u2028\u2029]", out.subject)


def test_subject_names_the_issue_and_its_first_paper(render_issue: Any) -> None:
    subject = render_issue(3).subject
    assert subject == (
        "Paper Digest, Nov 23, 2026: Neural decoding of imagined speech, part 1 and 2 more"
    )


def test_configured_subject_overrides_the_template_without_escaping() -> None:
    email = EmailSettings(subject="{{ newsletter.name }} & co\n({{ count }})")
    renderer = Renderer(NEWSLETTER, email, None)
    issue = make_issue(2)
    out = renderer.render(issue, make_links(issue))
    assert out is not None and out.subject == "Paper Digest & co (2)"


def test_abstract_is_trimmed_to_the_configured_length() -> None:
    renderer = Renderer(NEWSLETTER, EmailSettings(abstract_chars=120), None)
    issue = make_issue(1)
    out = renderer.render(issue, make_links(issue))
    assert out is not None
    assert "of imagined speech from non-invasive recordings." in flat(out.text)
    assert "We release code" not in out.text


@pytest.mark.parametrize(("choice", "shown"), [("short", 1), ("full", 2), ("none", 0)])
def test_each_reader_gets_as_much_of_each_abstract_as_they_chose(choice: str, shown: int) -> None:
    renderer = Renderer(NEWSLETTER, EmailSettings(abstract_chars=120), None)
    issue = make_issue(1, (RTL,))
    issue = replace(issue, subscriber=replace(issue.subscriber, abstracts=choice))
    out = renderer.render(issue, make_links(issue))
    assert out is not None
    for part in (flat(out.text), visible_text(out.html)):
        found = ["of imagined speech from non-invasive recordings." in part,
                 "Limitations are discussed." in part]
        assert sum(found) == shown and found[0] == (shown > 0), part
        assert ("Summary: An AI summary" in part) == (choice != "none")  # no empty label


def test_rendering_is_pure_and_repeatable(render_issue: Callable[..., Any]) -> None:
    assert render_issue(3) == render_issue(3)


def test_too_small_abstract_length_is_a_config_error(make_config: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match=r"newsletter\.toml: key 'email\.abstract_chars' must"):
        make_config({"email": {"abstract_chars": 10}})


def test_a_language_models_one_line_summary_sits_under_the_title() -> None:
    renderer = Renderer(NEWSLETTER, EmailSettings(), None)
    issue = make_issue(2)
    gist = "Decodes imagined speech from fMRI with a language model <b>& transfers</b>."
    first = replace(issue.picks[0], paper=replace(issue.picks[0].paper, summary=gist))
    issue = replace(issue, picks=(first, *issue.picks[1:]))
    out = renderer.render(issue, make_links(issue))
    assert out is not None
    text = flat(out.text)
    assert f"1. Neural decoding of imagined speech, part 1 {gist}" in text
    assert text.count("Decodes imagined speech") == 1  # the second paper has none
    html = visible_text(out.html)
    assert html.index("part 1") < html.index("Decodes imagined speech") < html.index("Why you")
    assert "<b>& transfers</b>" not in out.html and "&lt;b&gt;&amp; transfers" in out.html


def test_ten_papers_in_sections_stay_well_below_the_gmail_clipping_size() -> None:
    issue = sectioned_issue(10)
    out = Renderer(NEWSLETTER, EmailSettings(), None).render(issue, make_links(issue))
    assert out is not None and out.html.count('class="toc-section"') == 4
    assert len(out.html.encode()) < 90_000
