"""Fixed sample data for the render tests: papers with hostile content, issues and links."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from urllib.parse import quote

from newsletter.config import NewsletterSettings
from newsletter.models import Issue, IssueLinks, Paper, Pick, Subscriber

NEWSLETTER = NewsletterSettings(
    name="Paper Digest",
    base_url="https://digest.example.org",
    postal_address="Paper Digest, 12 Example Street, 10115 Berlin, Germany",
)
SUBSCRIBER = Subscriber(
    email="ada@example.org",
    name="Ada",
    topics=("brain decoding", "exoplanets", "learning theory"),
)
HOSTILE_TITLE = 'Decoding <script>alert("x")</script> & "speech" from fMRI 🧠 with $\\alpha$-nets'
RTL_TITLE = "שלום עולם: مرحبا بالعالم — a right-to-left title"


def paper(i: int) -> Paper:
    """A plain, realistic paper number ``i``."""
    return Paper(
        title=f"Neural decoding of imagined speech, part {i}",
        abstract=(
            f"We study decoding number {i} of imagined speech from non-invasive recordings. "
            "Our model maps fMRI responses to text with a pretrained language model, e.g. a "
            "transformer, and reaches 41% word accuracy (p < 0.01). We release code and data. "
            "Further experiments show that the approach transfers across subjects with little "
            "calibration, which suggests shared representations. Limitations are discussed."
        ),
        arxiv_id=f"2603.{10000 + i}",
        authors=("Ann Lee", "Bo Chen", "Cy Dee", "Di Eel", "Ed Fox"),
        published=date(2026, 3, 11),
        upvotes=10 + i,
    )


HOSTILE = Paper(
    title=HOSTILE_TITLE,
    abstract="Bounds with x < y & y > z hold; we use \"quotes\" and 'apostrophes'. Done.",
    arxiv_id="2603.00001",
    authors=("Zoë Ünal",),
    published=date(2026, 3, 10),
    upvotes=1,
)
RTL = Paper(
    title=RTL_TITLE,
    abstract="טקסט מימין לשמאל. نص من اليمين إلى اليسار.",
    url="javascript:alert(1)",
    ai_summary="An AI summary: the paper is about right-to-left text.",
)


def pick(p: Paper, tags: tuple[str, ...] = ("brain decoding",)) -> Pick:
    return Pick(p, 0.8, (f"matched {tags[0] if tags else 'your topics'!r} in the abstract",), tags)


def make_issue(n: int = 3, extra: tuple[Paper, ...] = ()) -> Issue:
    picks = tuple(pick(paper(i)) for i in range(1, n + 1)) + tuple(pick(p, ()) for p in extra)
    return Issue(SUBSCRIBER, date(2026, 11, 23), picks)


def sectioned_issue(n: int = 6, sections: bool = True) -> Issue:
    """``n`` papers for a reader of three topics, each saying what brought it in: the first
    topic's papers, then the second's (the third has none), one a liked paper brought in and
    one a followed author's; ranked so that sections reorder them."""
    ways = [("topic", "exoplanets"), ("topic", "brain decoding"), ("liked", ""),
            ("topic", "exoplanets"), ("author", ""), ("topic", "brain decoding")]
    picks = []
    for i in range(1, n + 1):
        via, topic = ways[(i - 1) % len(ways)]
        reason = f"matched {topic!r} in the abstract" if topic else (
            "by followed author Ann Lee" if via == "author" else "similar to a paper you liked")
        picks.append(Pick(paper(i), round(0.9 - i / 100, 2), (reason,), via=via, topic=topic))
    reader = replace(SUBSCRIBER, sections=sections)
    return Issue(reader, date(2026, 11, 23), tuple(picks))


def team_issue() -> Issue:
    """A lab's issue from two members (no topics of its own): each paper says whom it is for,
    in sections of the members' topics."""
    team = Subscriber(email="lab@example.org", name="The lab", topics=(),
                      members=("ada@example.org", "lin@example.org"))
    whom = [(("Ada",), "brain decoding"), (("lin",), "exoplanets"), (("Ada", "lin"), "exoplanets"),
            (("Ada",), "brain decoding")]
    picks = tuple(Pick(paper(i), 0.8, (f"matched {topic!r} in the abstract",), via="topic",
                       topic=topic, members=members)
                  for i, (members, topic) in enumerate(whom, 1))
    return Issue(team, date(2026, 11, 23), picks)


def make_links(issue: Issue) -> IssueLinks:
    base = "https://digest.example.org"
    keys = [p.paper.key for p in issue.picks]
    return IssueLinks(
        unsubscribe=f"{base}/unsubscribe?t=abc&u=1",
        preferences=f"{base}/preferences?t=def",
        more_like={k: f"{base}/feedback?k={quote(k)}&v=1" for k in keys},
        less_like={k: f"{base}/feedback?k={quote(k)}&v=-1" for k in keys},
        archive=f"{base}/archive?token=ghi",
        web_copy=f"{base}/issues/{issue.issue_id}?token=jkl",
    )
