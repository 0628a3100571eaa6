"""The values a template sees: an issue, its links and the settings turned into plain dicts.

Per-paper parts are memoized (the same papers go to many subscribers); per-subscriber parts
(reasons, tags, feedback links) are added on top for each issue.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from newsletter.config import EmailSettings, NewsletterSettings
from newsletter.models import Issue, IssueLinks, Paper, Pick
from newsletter.render.environment import safe_url
from newsletter.render.text import (
    authors_label,
    date_label,
    long_date_label,
    preheader,
    squash,
    trim_abstract,
)

Context = dict[str, Any]


@lru_cache(maxsize=4096)
def paper_view(paper: Paper, abstract_chars: int) -> dict[str, Any]:
    """The subscriber-independent part of a paper card."""
    summary = paper.ai_summary or paper.abstract
    return {
        "key": paper.key,
        "title": squash(paper.title),
        "url": safe_url(paper.link),
        "authors": authors_label(paper.authors, paper.author_count),
        "date": date_label(paper.published),
        "upvotes": paper.upvotes,
        "summary": trim_abstract(summary, abstract_chars),
        "summary_is_ai": bool(paper.ai_summary),
        "arxiv_id": paper.arxiv_id or "",
    }


def card(pick: Pick, number: int, links: IssueLinks, abstract_chars: int) -> dict[str, Any]:
    """One paper card: the paper view plus why this reader got it and their feedback links."""
    view = paper_view(pick.paper, abstract_chars)
    key = view["key"]
    return {
        **view,
        "number": number,
        "reason": "; ".join(squash(r) for r in pick.reasons[:2]),
        "tags": [squash(t) for t in pick.tags],
        "more_like": safe_url(links.more_like.get(key, "")),
        "less_like": safe_url(links.less_like.get(key, "")),
    }


def build_context(
    issue: Issue, links: IssueLinks, newsletter: NewsletterSettings, email: EmailSettings
) -> Context:
    """Everything the subject, HTML and text templates may use (documented in templates/)."""
    cards = [card(p, i, links, email.abstract_chars) for i, p in enumerate(issue.picks, 1)]
    subscriber = issue.subscriber
    topics = [squash(t) for t in subscriber.topics]
    return {
        "newsletter": {
            "name": squash(newsletter.name),
            "base_url": safe_url(newsletter.base_url),
            "postal_address": squash(newsletter.postal_address),
        },
        "subscriber": {"email": subscriber.email, "name": squash(subscriber.name)},
        "topics": topics,
        "issue": {
            "id": issue.issue_id,
            "date": issue.issue_date,
            "date_label": date_label(issue.issue_date),
            "long_date": long_date_label(issue.issue_date),
        },
        "cards": cards,
        "count": len(cards),
        "quiet": not cards,
        "preheader": preheader([c["title"] for c in cards], topics),
        "links": {
            "unsubscribe": safe_url(links.unsubscribe),
            "preferences": safe_url(links.preferences),
            "archive": safe_url(links.archive),
        },
    }
