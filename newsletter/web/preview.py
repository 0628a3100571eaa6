"""``newsletter preview --serve``: a local page to look at any subscriber's issue for any date.

Issues are composed once per (subscriber, date) and re-rendered when a template file changes;
the page polls ``/version`` and reloads the email by itself. Nothing is sent or recorded.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jinja2

from newsletter.errors import NewsletterError
from newsletter.models import Issue, IssueLinks
from newsletter.render import RenderedEmail, Renderer

IssueMaker = Callable[[str, date], tuple[Issue, IssueLinks]]
PAGES = Path(__file__).resolve().parent / "templates"
Response = tuple[int, str, bytes]  # status, content type, body


class PreviewSite:
    """What the preview pages show: subscribers x dates, each issue rendered on demand."""

    def __init__(
        self,
        renderer: Renderer,
        make_issue: IssueMaker,
        subscribers: Sequence[str],
        dates: Sequence[date],
    ) -> None:
        self.renderer = renderer
        self.make_issue = make_issue
        self.subscribers = list(subscribers)
        self.dates = list(dates)
        self._issues: dict[tuple[str, date], tuple[Issue, IssueLinks]] = {}
        self._lock = threading.Lock()
        self._stamp = self._template_stamp()
        self._broken: NewsletterError | None = None
        pages = jinja2.Environment(loader=jinja2.FileSystemLoader(PAGES), autoescape=True)
        self._page = pages.get_template("preview.html")

    def version(self) -> str:
        """Changes whenever a template file changes."""
        with self._lock:
            self._refresh()
            return f"{self._stamp}:{self.renderer.version}"

    def _refresh(self) -> None:
        """Reload the templates when a file changed; keep a broken template's error to show."""
        stamp = self._template_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self.renderer.reload()
            self._broken = None
        except NewsletterError as exc:
            self._broken = exc

    def _template_stamp(self) -> str:
        parts = []
        for path in self.renderer.template_files:
            info = path.stat()
            parts.append(f"{path}|{info.st_mtime_ns}|{info.st_size}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def render(self, subscriber: str, day: date) -> RenderedEmail | None:
        """The issue as the subscriber would get it (None on a skipped quiet day)."""
        key = (subscriber, day)
        if key not in self._issues:
            self._issues[key] = self.make_issue(subscriber, day)
        issue, links = self._issues[key]
        with self._lock:
            self._refresh()
            if self._broken is not None:
                raise self._broken
            return self.renderer.render(issue, links)

    def index(self) -> str:
        return self._page.render(
            name=self.renderer.newsletter.name,
            subscribers=self.subscribers,
            dates=[d.isoformat() for d in self.dates],
            version=self.version(),
        )

    def respond(self, target: str) -> Response:
        """The response for a GET of ``target`` (path and query)."""
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/":
            return _ok(self.index(), "text/html")
        if url.path == "/version":
            return _ok(self.version(), "text/plain")
        if url.path in ("/issue", "/subject"):
            return self._issue(url.path, query)
        return HTTPStatus.NOT_FOUND, "text/plain", b"not found"

    def _issue(self, path: str, query: dict[str, str]) -> Response:
        try:
            subscriber, day = query["subscriber"], date.fromisoformat(query.get("date", ""))
        except (KeyError, ValueError):
            return HTTPStatus.BAD_REQUEST, "text/plain", b"need ?subscriber=...&date=YYYY-MM-DD"
        try:
            rendered = self.render(subscriber, day)
        except NewsletterError as exc:  # shown in the page, so a template typo is one line
            return HTTPStatus.INTERNAL_SERVER_ERROR, "text/plain", f"error: {exc}".encode()
        if rendered is None:
            note = f"No email for {subscriber} on {day}: nothing matched (email.quiet_day = skip)"
            return _ok("" if path == "/subject" else note, "text/plain")
        if path == "/subject":
            return _ok(rendered.subject, "text/plain")
        if query.get("part") == "text":
            return _ok(rendered.text, "text/plain")
        return _ok(rendered.html, "text/html")


def _ok(body: str, kind: str) -> Response:
    return HTTPStatus.OK, kind, body.encode("utf-8")


def make_server(site: PreviewSite, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server for ``site`` (port 0: any free port); call ``serve_forever`` on it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, kind, body = site.respond(self.path)
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet by default
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def server_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/"
