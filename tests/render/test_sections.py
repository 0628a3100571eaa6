"""An issue in sections by interest: the grouping, the HTML and text parts, and when an issue
stays one flat list."""

from __future__ import annotations

import re
from dataclasses import replace

from newsletter.config import EmailSettings
from newsletter.models import Issue, Pick, Subscriber
from newsletter.render import RenderedEmail, Renderer
from newsletter.render.sections import sectioned

from .render_samples import NEWSLETTER, make_links, paper, sectioned_issue

TITLE = re.compile(r"^(\d+)\. (Neural decoding of imagined speech, part \d+)$", re.M)


def render(issue: Issue) -> RenderedEmail:
    out = Renderer(NEWSLETTER, EmailSettings(), None).render(issue, make_links(issue))
    assert out is not None
    return out


def card_titles(out: RenderedEmail) -> list[str]:
    """The papers' titles in the order of the text part's cards (after the list at the top)."""
    body = out.text.split("-" * 70, 1)[1]
    return [m.group(2) for m in TITLE.finditer(body)]


def test_papers_are_grouped_under_the_topic_each_matched_best_in_the_readers_order() -> None:
    issue = sectioned_issue(6)  # ranked: exoplanets, brain decoding, liked, exoplanets, ...
    groups = sectioned(issue.subscriber, issue.picks)
    assert [(title, [p.paper.title[-1] for p in picks]) for title, picks in groups] == [
        ("brain decoding", ["2", "6"]),
        ("exoplanets", ["1", "4"]),
        ("Similar to papers you liked", ["3"]),
        ("Authors you follow", ["5"]),
    ]  # "learning theory" brought nothing: no empty section


def test_the_html_has_a_heading_and_count_per_section_and_the_list_at_the_top_links_to_them(
) -> None:
    out = render(sectioned_issue(6))
    toc = re.findall(r'<a class="toc-section" href="#(section-\d)"[^>]*>([^<]*)</a>', out.html)
    assert toc == [("section-1", "brain decoding (2)"), ("section-2", "exoplanets (2)"),
                   ("section-3", "Similar to papers you liked (1)"),
                   ("section-4", "Authors you follow (1)")]
    for anchor, _ in toc:
        assert out.html.count(f'id="{anchor}"') == 1
    headings = re.findall(r'id="section-\d"[^>]*><a name="section-\d"></a>([^<]*)'
                          r'<span class="count"[^>]*>· (\d) papers?</span>', out.html)
    assert headings == [("brain decoding ", "2"), ("exoplanets ", "2"),
                        ("Similar to papers you liked ", "1"), ("Authors you follow ", "1")]
    # the list at the top, then the cards, follow the sections: part 2 first, part 1 third
    links = re.findall(r'<a href="https://arxiv.org/abs/2603.1000(\d)" dir="auto"', out.html)
    assert links == ["2", "6", "1", "4", "3", "5"] * 2


def test_the_text_part_has_the_same_sections_in_the_list_and_before_their_papers() -> None:
    out = render(sectioned_issue(6))
    top = out.text.split("In this issue:", 1)[1].split("=" * 70, 1)[0]
    assert "brain decoding (2)\n1. Neural decoding of imagined speech, part 2\n" in top
    assert "Authors you follow (1)\n6. Neural decoding of imagined speech, part 5\n" in top
    assert [line for line in out.text.splitlines() if line.endswith(("paper", "papers"))] == [
        "brain decoding - 2 papers", "exoplanets - 2 papers",
        "Similar to papers you liked - 1 paper", "Authors you follow - 1 paper",
    ]
    assert card_titles(out)[:3] == [f"Neural decoding of imagined speech, part {i}"
                                    for i in (2, 6, 1)]


def flat(out: RenderedEmail) -> None:
    """One list, best first, as before sections."""
    assert "section-1" not in out.html and "=" * 70 not in out.text
    assert card_titles(out) == sorted(card_titles(out), key=lambda t: int(t.rsplit(" ", 1)[1]))


def test_a_reader_who_turned_sections_off_gets_one_list_best_first() -> None:
    flat(render(sectioned_issue(6, sections=False)))


def test_a_reader_of_one_topic_or_only_a_library_gets_one_list() -> None:
    issue = sectioned_issue(6)
    one = replace(issue.subscriber, topics=("exoplanets",))
    picks = tuple(replace(p, topic="exoplanets") if p.topic else p for p in issue.picks)
    flat(render(Issue(one, issue.issue_date, picks)))  # with a liked paper's and an author's
    library = Subscriber(email="lib@example.org", topics=(), library=("arxiv:2401.00001",))
    picks = tuple(Pick(paper(i), 0.9 - i / 100, ("similar to a paper you liked",), via="liked")
                  for i in range(1, 4))
    flat(render(Issue(library, issue.issue_date, picks)))


def test_an_issue_enqueued_before_sections_stays_one_list() -> None:
    issue = sectioned_issue(6)
    old = tuple(replace(p, via="", topic="") for p in issue.picks)
    flat(render(replace(issue, picks=old)))


def test_a_teams_sections_add_its_members_topics_after_its_own() -> None:
    team = Subscriber(email="lab@example.org", topics=("Robotics",), members=("a@x.org",))
    picks = (
        Pick(paper(1), 0.9, ("r",), via="topic", topic="protein design", members=("Lin",)),
        Pick(paper(2), 0.8, ("r",), via="topic", topic="robotics", members=("Ada",)),
        Pick(paper(3), 0.7, ("r",), via="topic", topic="Protein Design", members=("Lin",)),
    )
    groups = sectioned(team, picks)
    assert [(t, len(p)) for t, p in groups] == [("Robotics", 1), ("protein design", 2)]


def test_each_paper_of_a_teams_issue_says_whom_it_is_for() -> None:
    issue = sectioned_issue(2)
    picks = (replace(issue.picks[0], members=("Ada", "Lin")), replace(issue.picks[1],
                                                                      members=("lin",)))
    out = render(replace(issue, picks=picks))
    assert re.findall(r'<div class="for"[^>]*>For ([^<]*)</div>', out.html) == ["lin", "Ada, Lin"]
    assert "\nFor Ada, Lin\n" in out.text and "\nFor lin\n" in out.text
