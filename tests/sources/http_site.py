"""A real HTTP server on 127.0.0.1 whose replies each test scripts (imported by tests here)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Reply:
    """One scripted response; ``chunks`` streams the body chunked, without a Content-Length."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunks: Callable[[], Iterator[bytes]] | None = None


Script = Reply | Callable[[dict[str, str], str], Reply]


@dataclass
class Seen:
    """A request the server received."""

    path: str
    headers: dict[str, str]


class Site:
    """Routes path -> replies served in order (the last one repeats); records every request."""

    def __init__(self, base: str, stop: threading.Event) -> None:
        self.base = base
        self.stop = stop
        self.routes: dict[str, list[Script]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, *replies: Script) -> str:
        self.routes[path] = list(replies)
        return self.url(path)

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if urlsplit(r.path).path == path]

    def next_reply(self, path: str, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(Seen(path, headers))
            replies = self.routes.get(path) or self.routes.get(urlsplit(path).path)
            if not replies:
                return Reply(404, b"not found")
            script = replies.pop(0) if len(replies) > 1 else replies[0]
        return script(headers, path) if callable(script) else script


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    site: Site

    def do_GET(self) -> None:
        reply = self.site.next_reply(self.path, dict(self.headers.items()))
        if reply.delay and self.site.stop.wait(reply.delay):
            return
        # the client may give up (size cap, timeout): exactly what some tests provoke
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.chunks is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in reply.chunks():
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve() -> Iterator[Site]:
    """A live HTTP server on a free loopback port, stopped on exit."""
    stop = threading.Event()
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    handler.site = Site(f"http://{host!s}:{port}", stop)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield handler.site
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)

