"""The values a template sees: an issue, its links and the settings as plain attribute objects.

Per-paper parts are memoized (the same papers go to many subscribers); per-subscriber parts
are added per issue. Attribute objects, not dicts: Jinja tries attributes first.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from newsletter.config import EmailSettings, NewsletterSettings
from newsletter.models import Issue, IssueLinks, Paper, Pick
from newsletter.paper_links import safe_url, search_url
from newsletter.render.sections import sectioned
from newsletter.render.text import (
    authors_label,
    date_label,
    long_date_label,
    preheader,
    squash,
    trim_abstract,
)
from newsletter.wording import clip, count

Context = dict[str, Any]
ARXIV = "https://arxiv.org/"
ABSTRACT_CHARS = {"full": sys.maxsize, "none": 0}  # by the reader's choice; "short": the setting
TOC_CHARS = 44  # a title in the list at the top: one line on a phone


@dataclass(frozen=True, slots=True)
class PaperView:
    """The subscriber-independent part of a paper card."""

    key: str
    title: str
    toc_title: str  # the title cut to one line of a phone, for the list at the top
    url: str
    link_label: str  # "Read the paper", or "Find the paper" when the link is a search
    authors: str
    date: str
    upvotes: int | None
    summary: str
    summary_is_ai: bool
    gist: str  # a language model's one-sentence summary, shown under the title ("": none)
    arxiv_id: str
    pdf: str  # the arXiv PDF when the id is known, else ""
    code: str  # the code repository when a source named one, else ""
    source: str  # where the paper is from: "arXiv:2501.12345", or the link's site
    meta: str  # authors · date · upvotes · source, the parts that are known


@dataclass(frozen=True, slots=True)
class Card(PaperView):
    """One paper card as the templates see it: the paper view plus this reader's parts."""

    number: int
    reason: str
    tags: tuple[str, ...]
    more_like: str
    less_like: str
    for_whom: str = ""  # a team's issue: the members it is for, "Ada, Lin"


@lru_cache(maxsize=4096)
def paper_view(paper: Paper, abstract_chars: int) -> PaperView:
    """The card parts that depend on the paper alone, computed once per paper; the summary is
    cut at ``abstract_chars`` (0: no summary)."""
    # The best landing page: the arXiv abstract when the id is known, else the source's own
    # page, else a search for the title.
    url = f"{ARXIV}abs/{paper.arxiv_id}" if paper.arxiv_id else safe_url(paper.url)
    authors = authors_label(paper.authors, paper.author_count)
    day, source = date_label(paper.published), source_label(paper.arxiv_id, url)
    votes = count(paper.upvotes, "upvote") if paper.upvotes else ""
    return PaperView(
        key=paper.key,
        title=squash(paper.title),
        toc_title=clip(squash(paper.title), TOC_CHARS),
        url=url or search_url(paper.title),
        link_label="Read the paper" if url else "Find the paper",
        authors=authors,
        date=day,
        upvotes=paper.upvotes,
        summary=trim_abstract(paper.ai_summary or paper.abstract, abstract_chars)
        if abstract_chars else "",
        summary_is_ai=bool(paper.ai_summary) and abstract_chars > 0,
        gist=squash(paper.summary),
        arxiv_id=paper.arxiv_id or "",
        pdf=f"{ARXIV}pdf/{paper.arxiv_id}" if paper.arxiv_id else "",
        code=safe_url(paper.code_url) if paper.code_url.startswith("https://") else "",
        source=source,
        meta=" · ".join(part for part in (authors, day, votes, source) if part),
    )


def source_label(arxiv_id: str | None, url: str) -> str:
    """"arXiv:2501.12345" when the id is known, else the landing page's site, else ""."""
    if arxiv_id:
        return f"arXiv:{arxiv_id}"
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


@lru_cache(maxsize=4096)
def _clean(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(squash(v) for v in values)


def reason(pick: Pick) -> str:
    """Why the reader got ``pick``: its first two reasons, each on one line."""
    return "; ".join(_clean(pick.reasons[:2]))


def for_whom(pick: Pick) -> str:
    """The members a team's paper is for, "Ada, Lin" ("" outside a team's issue)."""
    return ", ".join(_clean(pick.members))


def card(pick: Pick, number: int, links: IssueLinks, abstract_chars: int) -> Card:
    """One paper card: the paper view plus why this reader got it and their feedback links."""
    view = paper_view(pick.paper, abstract_chars)
    return Card(
        **view_fields(view),
        number=number,
        reason=reason(pick),
        tags=_clean(pick.tags),
        more_like=safe_url(links.more_like.get(view.key, "")),
        less_like=safe_url(links.less_like.get(view.key, "")),
        for_whom=for_whom(pick),
    )


def view_fields(view: PaperView) -> dict[str, Any]:
    return {name: getattr(view, name) for name in PaperView.__slots__}


def sections(groups: list[tuple[str, list[Pick]]], cards: list[Card]) -> list[SimpleNamespace]:
    """The sections as the templates see them ([] for one flat list): an anchor ``id``, the
    ``title`` (and ``toc_title``, cut to one line of a phone), ``count`` and ``cards``."""
    out, start = [], 0
    for n, (title, picks) in enumerate(groups, 1):
        shown = squash(title)
        out.append(SimpleNamespace(
            id=f"section-{n}", title=shown, toc_title=clip(shown, TOC_CHARS), count=len(picks),
            cards=cards[start:start + len(picks)],
        ))
        start += len(picks)
    return out


@lru_cache(maxsize=64)
def newsletter_view(settings: NewsletterSettings) -> SimpleNamespace:
    """The newsletter settings a template may show, cleaned to one line each."""
    return SimpleNamespace(
        name=squash(settings.name),
        base_url=safe_url(settings.base_url),
        postal_address=squash(settings.postal_address),
    )


def build_context(
    issue: Issue, links: IssueLinks, newsletter: NewsletterSettings, email: EmailSettings
) -> Context:
    """Everything the subject, HTML and text templates may use (see templates/README.md)."""
    subscriber = issue.subscriber
    chars = ABSTRACT_CHARS.get(subscriber.abstracts, email.abstract_chars)
    groups = sectioned(subscriber, issue.picks)
    ordered = [p for _, picks in groups for p in picks] if groups else issue.picks
    cards = [card(p, i, links, chars) for i, p in enumerate(ordered, 1)]
    topics = list(_clean(subscriber.topics))
    day = issue.issue_date
    return {
        "newsletter": newsletter_view(newsletter),
        "subscriber": SimpleNamespace(email=subscriber.email, name=squash(subscriber.name)),
        "topics": topics,
        "issue": SimpleNamespace(
            id=issue.issue_id, date=day, date_label=date_label(day), long_date=long_date_label(day)
        ),
        "cards": cards,
        "sections": sections(groups, cards),
        "count": len(cards),
        "quiet": not cards,
        "preheader": preheader([c.title for c in cards], topics),
        "links": SimpleNamespace(
            unsubscribe=safe_url(links.unsubscribe),
            preferences=safe_url(links.preferences),
            archive=safe_url(links.archive),
            web_copy=safe_url(links.web_copy),
            # "View in browser": the web copy (else the archive), but not in the web copy
            view="" if links.in_browser else safe_url(links.web_copy or links.archive),
        ),
    }
