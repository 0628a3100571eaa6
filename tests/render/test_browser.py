"""The email in real headless chromium: phone and desktop widths, light and dark mode."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from newsletter.config import EmailSettings
from newsletter.models import Issue, Pick
from newsletter.render import Renderer
from newsletter.sources.base import ParseContext
from newsletter.sources.text import parse

from .render_samples import HOSTILE, NEWSLETTER, RTL, SUBSCRIBER, make_links, sectioned_issue

# For every visible element holding text: its font size and its contrast with the background
# actually behind it (the nearest ancestor with an opaque background colour).
MEASURE = """() => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const lum = c => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0.5) return c;
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.opacity === '0') continue;
    const [a, b] = [lum(rgb(st.color)), lum(background(el))];
    out.push({text: el.textContent.trim().slice(0, 40), size: parseFloat(st.fontSize),
              contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)});
  }
  const root = document.documentElement;
  return {scroll: root.scrollWidth, client: root.clientWidth, items: out};
}"""


def measure(browser: Any, html: str, width: int, scheme: str) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.set_content(html)
        result: dict[str, Any] = page.evaluate(MEASURE)
    finally:
        page.close()
    result["requests"] = [u for u in requests if not u.startswith(("about:", "data:"))]
    return result


def check(result: dict[str, Any]) -> None:
    assert result["scroll"] <= result["client"], "horizontal scrolling"
    assert result["items"], "no visible text found"
    small = [i for i in result["items"] if i["size"] < 14]
    assert not small, f"text below 14px: {small[:3]}"
    faint = [i for i in result["items"] if i["contrast"] < 4.5]
    assert not faint, f"contrast below 4.5:1: {faint[:3]}"
    assert result["requests"] == [], "the email loads nothing from the network"


@pytest.fixture(scope="module")
def sample_html() -> str:
    picks = tuple(
        Pick(p, 0.5, ("matched 'brain decoding' in the title",), ("brain decoding", "fMRI"))
        for p in (HOSTILE, RTL)
    )
    issue = Issue(SUBSCRIBER, date(2026, 11, 23), picks)
    out = Renderer(NEWSLETTER, EmailSettings(), None).render(issue, make_links(issue))
    assert out is not None
    return out.html


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 600])
def test_readable_without_horizontal_scroll(
    browser: Any, sample_html: str, width: int, scheme: str
) -> None:
    check(measure(browser, sample_html, width, scheme))


def test_dark_mode_really_changes_the_colours(browser: Any, sample_html: str) -> None:
    def page_background(scheme: str) -> str:
        page = browser.new_page(viewport={"width": 600, "height": 600}, color_scheme=scheme)
        page.set_content(sample_html)
        colour: str = page.evaluate("getComputedStyle(document.body).backgroundColor")
        page.close()
        return colour

    assert page_background("light") != page_background("dark")


def test_ten_real_seed_papers_fit_a_phone(browser: Any, seeds_dir: Path) -> None:
    """Long real titles, TeX and URLs in abstracts must not widen the email."""
    seed = sorted(seeds_dir.glob("*.txt"))[-1]
    page = parse(seed.read_bytes(), ParseContext(origin=str(seed), today=date(2026, 11, 23)))
    papers = sorted(page.papers, key=lambda p: -len(p.title))[:10]
    issue = Issue(SUBSCRIBER, date(2026, 11, 23), tuple(Pick(p, 0.5, ("x",)) for p in papers))
    out = Renderer(NEWSLETTER, EmailSettings(), None).render(issue, make_links(issue))
    assert out is not None and len(out.html.encode()) < 90_000
    check(measure(browser, out.html, 375, "light"))


def test_on_a_phone_the_first_paper_shows_on_the_first_screen(
    browser: Any, seeds_dir: Path
) -> None:
    """Ten long real titles: the list at the top stays short (one line each) and each of its
    titles is a link to its paper; the first card starts on the first screen of a phone."""
    seed = sorted(seeds_dir.glob("*.txt"))[-1]
    page = parse(seed.read_bytes(), ParseContext(origin=str(seed), today=date(2026, 11, 23)))
    papers = sorted(page.papers, key=lambda p: -len(p.title))[:10]
    issue = Issue(SUBSCRIBER, date(2026, 11, 23), tuple(Pick(p, 0.5, ("x",)) for p in papers))
    out = Renderer(NEWSLETTER, EmailSettings(), None).render(issue, make_links(issue))
    assert out is not None
    view = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        view.set_content(out.html)
        toc = view.locator(".toc a")
        assert toc.count() == 10
        cards = view.locator(".card a[dir=auto]")
        for n in range(10):
            assert toc.nth(n).get_attribute("href") == cards.nth(n).get_attribute("href")
            box = toc.nth(n).bounding_box()
            assert box is not None and box["height"] < 30, (n, box)  # one line each
        first = cards.nth(0).bounding_box()
        assert first is not None and first["y"] < 844, first
    finally:
        view.close()
    check(measure(browser, out.html, 390, "light"))


def test_an_issue_in_sections_fits_a_phone_and_its_list_leads_to_the_sections(
    browser: Any, seeds_dir: Path
) -> None:
    """Ten long real titles in four sections, one of them a topic of 200 characters: no
    horizontal scroll at 375 and 390 px, light and dark; the list at the top links each
    section's name to its heading, the titles to their papers, and the first card still starts
    on the first screen of a phone."""
    seed = sorted(seeds_dir.glob("*.txt"))[-1]
    page = parse(seed.read_bytes(), ParseContext(origin=str(seed), today=date(2026, 11, 23)))
    papers = sorted(page.papers, key=lambda p: -len(p.title))[:10]
    base = sectioned_issue(10)
    long_topic = "multi-agent " * 16 + "reinforcement learning for robots"
    reader = replace(base.subscriber, topics=(long_topic, *base.subscriber.topics))
    picks = tuple(replace(p, paper=paper, topic=long_topic if n == 0 else p.topic)
                  for n, (p, paper) in enumerate(zip(base.picks, papers, strict=True)))
    issue = Issue(reader, base.issue_date, picks)
    out = Renderer(NEWSLETTER, EmailSettings(), None).render(issue, make_links(issue))
    assert out is not None and len(out.html.encode()) < 90_000
    view = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        view.set_content(out.html)
        links = view.locator(".toc a.toc-section")
        assert links.count() == 5
        for n in range(5):
            target = links.nth(n).get_attribute("href") or ""
            assert target == f"#section-{n + 1}"
            heading = view.locator(f"[id='{target[1:]}']")
            assert heading.count() == 1, target
            box = links.nth(n).bounding_box()
            assert box is not None and box["height"] < 30, (n, box)  # one line each
        first = view.locator(".card a[dir=auto]").nth(0).bounding_box()
        assert first is not None and first["y"] < 844, first
    finally:
        view.close()
    for width in (375, 390):
        for scheme in ("light", "dark"):
            check(measure(browser, out.html, width, scheme))
