"""Whole rendered issues compared with checked-in expected files.

Regenerate the expected files after an intended template change with
``NEWSLETTER_REGEN_GOLDEN=1 pytest tests/render/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter.config import EmailSettings
from newsletter.models import Issue
from newsletter.render import RenderedEmail, Renderer

from .render_samples import (
    HOSTILE,
    NEWSLETTER,
    RTL,
    make_issue,
    make_links,
    sectioned_issue,
    team_issue,
)

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
REGEN = os.environ.get("NEWSLETTER_REGEN_GOLDEN") == "1"

CASES: dict[str, Callable[[], Issue]] = {
    "three-papers-and-hostile-text": lambda: make_issue(3, (HOSTILE, RTL)),
    "quiet-day": lambda: make_issue(0),
    # a reader of three topics: two sections of topics, a liked paper's and an author's
    "sections-by-interest": lambda: sectioned_issue(6),
    # a lab's issue from two members: whom each paper is for, sections of their topics
    "team-from-members": team_issue,
}


def rendered(case: str) -> RenderedEmail:
    renderer = Renderer(NEWSLETTER, EmailSettings(quiet_day="send"), None)
    issue = CASES[case]()
    out = renderer.render(issue, make_links(issue))
    assert out is not None
    return out


def parts(out: RenderedEmail) -> dict[str, str]:
    return {
        "html": out.html,
        "txt": out.text,
        "headers": f"Subject: {out.subject}\nPreheader: {out.preheader}\n",
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_the_golden_files(case: str) -> None:
    for suffix, actual in parts(rendered(case)).items():
        path = GOLDEN / f"{case}.{suffix}"
        if REGEN:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
        assert path.exists(), f"{path} missing: run with NEWSLETTER_REGEN_GOLDEN=1"
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"{path} differs: review, then NEWSLETTER_REGEN_GOLDEN=1"
