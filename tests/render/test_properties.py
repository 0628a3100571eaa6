"""Any title or abstract text renders without error, escaped, and never breaks the subject."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.config import EmailSettings
from newsletter.models import Issue
from newsletter.render import Renderer

from .render_samples import NEWSLETTER, make_issue, make_links

# The only elements the templates produce: anything else would be injected content.
ALLOWED_TAGS = frozenset(
    ["html", "body", "div", "table", "tbody", "tr", "td", "a", "span", "p", "strong", "br"]
)
RENDERER = Renderer(NEWSLETTER, EmailSettings(), None)
BASE = make_issue(1)
hostile = st.text(
    alphabet=st.sampled_from(list("<>&\"'$\\/ \r\n\t\x00\x1b\u2028\u202eaé漢🧠שء")), max_size=60
)


@settings(max_examples=150, deadline=None)
@given(title=hostile, abstract=hostile)
def test_any_text_renders_escaped(title: str, abstract: str) -> None:
    pick = BASE.picks[0]
    paper = replace(pick.paper, title=title or "x", abstract=abstract)
    issue = Issue(BASE.subscriber, BASE.issue_date, (replace(pick, paper=paper),))
    out = RENDERER.render(issue, make_links(issue))
    assert out is not None
    assert not re.search(r"[\x00-\x1f\x7f\u2028\u2029]", out.subject)
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", out.html + out.text)
    body = out.html.split("<body", 1)[1]
    for tag in re.findall(r"<(/?[a-zA-Z][^\s>/]*)", body):
        assert tag.lower().lstrip("/") in ALLOWED_TAGS, tag
    visible = " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())
    words = " ".join(re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", title).split())
    if words:
        assert words in visible
