"""What the read-only archive links show, without HTTP: one issue as it was sent, and the list
of a reader's sent issues for the archive page and the Atom feed.

Every link here carries an ``archive`` token: it names a reader (and, for a web copy, one
issue) and only ever reads. An issue is rendered from its outbox row with the pinned
templates and the links signed at enqueue time, so the page is the email's HTML part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy.engine import Engine

from newsletter import addresses, signed_links
from newsletter.app.queued_issue import Builder, found_papers, reader, stored_picks
from newsletter.config import Config
from newsletter.delivery.compose import Composer
from newsletter.errors import NewsletterError
from newsletter.models import Paper
from newsletter.render.sections import sectioned
from newsletter.render.text import date_label
from newsletter.store.db import utc
from newsletter.store.outbox import issue_date, issue_keys, issue_row, sent_issues

MOST_LISTED = 400  # issues on the archive page (over a year of daily issues)
FEED_ENTRIES = 50  # issues in the feed


class NoSuchIssue(NewsletterError):
    """The reader has no issue of that id (or the link names another issue)."""


@dataclass(frozen=True)
class PastIssue:
    """One sent issue as the archive and the feed list it."""

    issue_id: str
    day: date
    subject: str
    sent_at: datetime
    url: str  # its web copy
    count: int  # papers it held
    label: str  # its date as the issues write dates ("Mar 11, 2026")
    papers: tuple[Paper, ...]  # those of them still stored, in order
    # in sections as the email shows them: (title, papers) each; () for one list
    sections: tuple[tuple[str, tuple[Paper, ...]], ...] = ()


class Archive:
    """Reads a reader's issues for the archive links; never writes."""

    def __init__(
        self, engine: Engine, composer: Composer, clock: Callable[[], datetime],
        config: Config | None = None,
    ) -> None:
        self.engine, self.composer, self.clock, self.config = engine, composer, clock, config
        self.builder = Builder(engine, composer, config)

    @property
    def base(self) -> str:
        return self.composer.newsletter.base_url

    def reader(self, token: str, issue_id: str = "") -> str:
        """The reader an archive token was signed for. A web-copy token opens its own issue
        and no other; like the copy it leads to, it also opens the reader's archive and feed."""
        claims = signed_links.verify(
            self.composer.secret, signed_links.ARCHIVE, token, now=self.clock()
        )
        named = claims.data.get("issue", "")
        if issue_id and named and named != issue_id:
            raise NoSuchIssue("this link is for another issue")
        return claims.subject

    def links(self, email: str) -> tuple[str, str]:
        """The reader's archive page and feed URLs, signed now."""
        key, secret, now = addresses.key(email), self.composer.secret, self.clock()
        return (signed_links.archive_url(self.base, secret, key, now=now),
                signed_links.feed_url(self.base, secret, key, now=now))

    def web_copy(self, email: str, issue_id: str) -> str:
        """The HTML part of ``email``'s issue ``issue_id`` exactly as it was (or is) sent."""
        with self.engine.connect() as conn:
            row = issue_row(conn, email, issue_id)
            if row is None or not row.issue:
                raise NoSuchIssue("there is no such issue for this address")
            papers = found_papers(conn, issue_keys(row.issue), self.config)
        made = self.builder.issue(row, papers)
        if isinstance(made, str):
            raise NoSuchIssue(f"this issue can no longer be shown: {made}")
        renderer, issue, links = made
        rendered = renderer.render(issue, replace(links, in_browser=True))
        if rendered is None:
            raise NoSuchIssue("this issue had no papers")
        return rendered.html

    def past(self, email: str, limit: int = MOST_LISTED) -> list[PastIssue]:
        """``email``'s sent issues, newest first, each with its papers in order."""
        with self.engine.connect() as conn:
            rows = sent_issues(conn, email, limit=limit)
            keys = sorted({k for r in rows for k in issue_keys(r.issue or {})})
            papers = found_papers(conn, keys, self.config)
        key, secret, now = addresses.key(email), self.composer.secret, self.clock()
        out = []
        for row in rows:
            issue = row.issue or {}
            day = issue_date(issue)
            name = self.composer.newsletter.name
            out.append(PastIssue(
                issue_id=row.issue_id,
                day=day,
                subject=row.email.subject or f"{name}, {date_label(day)}",
                sent_at=utc(row.sent_at or row.created_at or now),
                url=signed_links.web_copy_url(self.base, secret, key, row.issue_id, now=now),
                count=len(issue_keys(issue)),
                label=date_label(day),
                papers=tuple(papers[k] for k in issue_keys(issue) if k in papers),
                sections=tuple((title, tuple(p.paper for p in picks)) for title, picks
                               in sectioned(reader(issue), stored_picks(issue, papers))),
            ))
        return out
