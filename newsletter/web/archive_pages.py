"""The read-only archive pages: an issue's web copy (the URL its ``Archived-At`` header and its
"View in browser" link give), the reader's list of past issues and their private Atom feed.

GET (and HEAD) only: an archive token reads, it never changes a subscription. The pages are
private to the reader, their error pages too: not cached by shared caches, not indexed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from newsletter.app.accounts import Site
from newsletter.app.archive import FEED_ENTRIES, Archive, NoSuchIssue
from newsletter.web.feed import MEDIA_TYPE, atom_feed
from newsletter.web.pages import HEADERS, error_page, page

PRIVATE = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}
Handler = Callable[[Request], Awaitable[Response]]


def kept_private(handler: Handler) -> Handler:
    """``handler`` with every response it gives, error pages included, marked private."""

    async def run(request: Request) -> Response:
        response = await handler(request)
        response.headers.update(PRIVATE)
        return response

    return run


def feed_link(url: str, title: str) -> str:
    return (f'<link rel="alternate" type="{MEDIA_TYPE}" title="{escape(title)}" '
            f'href="{escape(url)}">')


def with_head(html: str, extra: str) -> str:
    """``html`` with ``extra`` added at the end of its head (the body is left as sent)."""
    at = html.find("</head>")
    return html[:at] + extra + html[at:] if at >= 0 else extra + html


class ArchivePages:
    """The handlers of ``/issues/{id}``, ``/archive`` and ``/feed.atom``."""

    def __init__(self, site: Site) -> None:
        self.newsletter = site.config.newsletter
        self.archive = Archive(site.engine, site.composer, site.clock, site.config)

    def routes(self) -> list[tuple[str, Handler]]:
        return [("/issues/{issue_id}", self.issue), ("/archive", self.listing),
                ("/feed.atom", self.feed)]

    def _issue_html(self, token: str, issue_id: str) -> str:
        email = self.archive.reader(token, issue_id)
        html = self.archive.web_copy(email, issue_id)
        _, feed = self.archive.links(email)
        extra = '<meta name="robots" content="noindex">' + feed_link(feed, self.feed_title)
        return with_head(html, extra)

    @property
    def feed_title(self) -> str:
        return f"{self.newsletter.name}: your issues"

    async def issue(self, request: Request) -> Response:
        """One issue exactly as it was sent (its HTML part), for its reader only."""
        token, issue_id = request.query_params.get("token", ""), request.path_params["issue_id"]
        try:
            html = await run_in_threadpool(self._issue_html, token, issue_id)
        except NoSuchIssue as exc:
            return error_page(404, "Issue not found", f"{exc}.")
        return HTMLResponse(html, headers=HEADERS)

    async def listing(self, request: Request) -> Response:
        """The reader's sent issues, newest first, each linked to its web copy."""
        email = self.archive.reader(request.query_params.get("token", ""))
        issues = await run_in_threadpool(self.archive.past, email)
        archive, feed = self.archive.links(email)
        return page("archive", issues=issues, email=email, feed=feed, archive=archive,
                    feed_title=self.feed_title, newsletter=self.newsletter)

    async def feed(self, request: Request) -> Response:
        """The reader's private Atom feed: one entry per sent issue with its papers."""
        email = self.archive.reader(request.query_params.get("token", ""))
        issues = await run_in_threadpool(self.archive.past, email, FEED_ENTRIES)
        archive, feed = self.archive.links(email)
        body = atom_feed(self.newsletter.name, self.newsletter.base_url, email, issues,
                         self_url=feed, archive_url=archive, now=self.archive.clock())
        return Response(body, media_type=MEDIA_TYPE, headers=HEADERS)
