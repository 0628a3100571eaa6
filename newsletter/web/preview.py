"""``newsletter preview --serve``: a local page to look at any subscriber's issue for any date.

The issues come from ``app.preview.PreviewIssues`` (composed once, re-rendered when a template
file changes); the page polls ``/version`` and reloads the email by itself. Nothing is sent
or recorded.
"""

from __future__ import annotations

from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jinja2

from newsletter.app.preview import PreviewIssues
from newsletter.errors import NewsletterError

PAGES = Path(__file__).resolve().parent / "templates"
Response = tuple[int, str, bytes]  # status, content type, body


class PreviewSite:
    """The preview page over ``PreviewIssues``: the index, and each issue as HTML or text."""

    def __init__(self, issues: PreviewIssues) -> None:
        self.issues = issues
        pages = jinja2.Environment(loader=jinja2.FileSystemLoader(PAGES), autoescape=True)
        self._page = pages.get_template("preview.html")

    def index(self) -> str:
        return self._page.render(
            name=self.issues.name,
            subscribers=self.issues.subscribers,
            dates=[d.isoformat() for d in self.issues.dates],
            version=self.issues.version(),
        )

    def respond(self, target: str) -> Response:
        """The response for a GET of ``target`` (path and query)."""
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/":
            return _ok(self.index(), "text/html")
        if url.path == "/version":
            return _ok(self.issues.version(), "text/plain")
        if url.path in ("/issue", "/subject"):
            return self._issue(url.path, query)
        return HTTPStatus.NOT_FOUND, "text/plain", b"not found"

    def _issue(self, path: str, query: dict[str, str]) -> Response:
        try:
            subscriber, day = query["subscriber"], date.fromisoformat(query.get("date", ""))
        except (KeyError, ValueError):
            return HTTPStatus.BAD_REQUEST, "text/plain", b"need ?subscriber=...&date=YYYY-MM-DD"
        try:
            rendered = self.issues.render(subscriber, day)
        except NewsletterError as exc:  # shown in the page, so a template typo is one line
            return HTTPStatus.INTERNAL_SERVER_ERROR, "text/plain", f"error: {exc}".encode()
        if isinstance(rendered, str):  # no issue that day, or a quiet day
            return _ok("" if path == "/subject" else rendered, "text/plain")
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
