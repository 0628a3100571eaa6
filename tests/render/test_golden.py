"""Whole rendered issues compared with checked-in expected files.

Regenerate the expected files after an intended template change with
``NEWSLETTER_REGEN_GOLDEN=1 pytest tests/render/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newsletter.config import EmailSettings
from newsletter.render import RenderedEmail, Renderer

from .render_samples import HOSTILE, NEWSLETTER, RTL, make_issue, make_links

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
REGEN = os.environ.get("NEWSLETTER_REGEN_GOLDEN") == "1"

CASES = {
    "three-papers-and-hostile-text": (3, (HOSTILE, RTL)),
    "quiet-day": (0, ()),
}


def rendered(case: str) -> RenderedEmail:
    count, extra = CASES[case]
    renderer = Renderer(NEWSLETTER, EmailSettings(quiet_day="send"), None)
    issue = make_issue(count, extra)
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
