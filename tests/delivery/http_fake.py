"""A local HTTP server on 127.0.0.1 that plays an email provider's API in tests.

Each request is recorded and passed to the test's ``respond`` function, which checks it the
way the provider documents it and answers with the provider's own success or error body.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received: float = field(default_factory=time.monotonic)  # when it arrived (monotonic)

    def json(self) -> Any:
        assert self.headers["content-type"].startswith("application/json")
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The fields of a multipart/form-data body."""
        ctype = self.headers["content-type"]
        assert ctype.startswith("multipart/form-data; boundary=")
        head = f"Content-Type: {ctype}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        fields = {}
        for part in message.iter_parts():  # type: ignore[attr-defined]
            name = part.get_param("name", header="content-disposition")
            fields[name] = part.get_payload(decode=True).decode("utf-8")
        return fields


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[Request], Reply]


class FakeApi:
    """Serves ``respond`` on a free loopback port; ``requests`` keeps what arrived."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[Request] = []
        self.violations: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self._handle("POST")

            def do_PUT(self) -> None:
                self._handle("PUT")

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                req = Request(method, self.path, {k.lower(): v for k, v in self.headers.items()},
                              self.rfile.read(length))
                api.requests.append(req)
                try:
                    reply = api.respond(req)
                except AssertionError as exc:  # a request the provider would refuse
                    api.violations.append(f"{req.path}: {exc!r}")
                    reply = Reply(400, {"message": "request does not follow the API docs"})
                # the client may be gone (a test killed it): nobody reads the answer then
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(reply)

            def _answer(self, reply: Reply) -> None:
                body = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if body:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
        assert not self.violations, self.violations
