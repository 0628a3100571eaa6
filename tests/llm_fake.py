"""A loopback OpenAI-compatible chat server for tests and benchmarks (``with LlmFake() as fake``).

It answers ``POST /v1/chat/completions`` from the recorded answers in ``tests/data/llm`` (or a
test's responder), counts requests per use, keeps the bodies it received, and plays the ways a
server fails: latency, an error status (with ``Retry-After``), content that is not JSON or does
not fit the schema, a body that is not a chat completion, a 50 MB body, a connection that never
answers, and no server at all.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from newsletter.config import LlmSettings
from newsletter.llm.contract import BadReply, Request, reader_digest, rerank_parts
from newsletter.models import normalize_title

DATA = Path(__file__).resolve().parent / "data" / "llm"
PATH = "/v1/chat/completions"
HUGE = 50 * 2**20  # bytes of a ``huge`` reply
Mode = Literal["answer", "garbage", "off_schema", "not_chat", "huge", "hang", "cut"]
# A test's answers: the reply's JSON object (or its content verbatim, as a string), or None
Responder = Callable[[Request], dict[str, Any] | str | None]


class Recorded:
    """The recorded answers: ``answers.jsonl`` by request key, ``rerank.jsonl`` by reader
    digest and folded title (see tests/data/llm/README.md)."""

    def __init__(self, folder: Path = DATA) -> None:
        self.answers: dict[str, dict[str, Any]] = {}
        self.scores: dict[tuple[str, str], int] = {}
        for row in _rows(folder / "answers.jsonl"):
            self.answers[row["key"]] = row["reply"]
        for row in _rows(folder / "rerank.jsonl"):
            self.scores[(row["reader"], row["title"])] = int(row["score"])

    def reply(self, request: Request) -> dict[str, Any] | None:
        if request.use != "reader_rerank":
            return self.answers.get(request.key)
        described, titles = rerank_parts(request.user)
        reader = reader_digest(described)
        scores = [self.scores.get((reader, normalize_title(t))) for t in titles]
        return None if None in scores else {"scores": scores}


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield json.loads(line)


def as_request(body: dict[str, Any]) -> Request:
    """The contract's request that a chat body was built from (``KeyError`` or ``ValueError``
    when it was not built by ``Request.body``)."""
    system, user = body["messages"]
    if (system["role"], user["role"]) != ("system", "user"):
        raise ValueError("expected a system and a user message")
    return Request(body["response_format"]["json_schema"]["name"], system["content"],
                   user["content"])


class LlmFake:
    """The server; set ``latency``, ``status`` (with ``retry_after`` and ``failures``: how many
    requests get it, None for all), ``mode`` and ``tokens`` (usage per reply) at any time."""

    def __init__(self, responder: Responder | None = None, *, recorded: Recorded | None = None,
                 down: bool = False, keep: bool = True) -> None:
        self.responder = responder
        self.keep = keep  # keep each body and its headers (benchmarks do not)
        self.recorded = recorded if recorded is not None else Recorded()
        self.down = down
        self.latency = 0.0
        self.status: int | None = None
        self.retry_after: str | None = None
        self.failures: int | None = None
        self.mode: Mode = "answer"
        self.tokens: int | None = None  # usage.total_tokens per reply (None: about chars / 4)
        self.reasoning_only = False  # refuse max_tokens and temperature, as OpenAI's o-series
        self.counts: Counter[str] = Counter()  # requests received per use
        self.active = self.peak = 0  # requests being answered now, and the most at once
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.errors: list[str] = []  # what the server failed at, other than a closed connection
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self.base_url = ""

    def settings(self, **overrides: Any) -> LlmSettings:
        """``[llm]`` settings that point at this server."""
        return LlmSettings(**{"base_url": self.base_url, "model": "fake-model", **overrides})

    def __enter__(self) -> LlmFake:
        if self.down:  # a port nobody listens on
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.base_url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
            return self
        handler = type("Handler", (_Handler,), {"fake": self})
        server = self._server = _Server(("127.0.0.1", 0), handler)
        server.fake = self
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def take(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[Request | None, bool]:
        """Record one request; its contract request (None when not one) and whether it fails."""
        try:
            request: Request | None = as_request(body)
        except (KeyError, TypeError, ValueError):
            request = None
        with self._lock:
            if self.keep:
                self.bodies.append(body)
                self.headers.append(headers)
            self.counts[request.use if request else "?"] += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
            fails = self.status is not None and (self.failures is None or self.failures > 0)
            if fails and self.failures is not None:
                self.failures -= 1
        return request, fails

    def done(self) -> None:
        with self._lock:
            self.active -= 1

    def content(self, request: Request) -> str | None:
        """The reply's content: per ``mode``, from the responder, or from the recordings."""
        if self.mode == "garbage":
            return "Sure! Here are the labels you asked for: robotics, grasping."
        if self.mode == "off_schema":
            return json.dumps({"labels": ["robotics"], "score": "high"})
        reply = self.responder(request) if self.responder else None
        if reply is None:
            with contextlib.suppress(BadReply):
                reply = self.recorded.reply(request)
        if reply is None:
            return None
        return reply if isinstance(reply, str) else json.dumps(reply)

    def completion(
        self, body: dict[str, Any], content: str, finish: str = "stop"
    ) -> dict[str, Any]:
        prompt = sum(len(str(m.get("content", ""))) for m in body["messages"]) // 4
        total = self.tokens if self.tokens is not None else prompt + len(content) // 4
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}", "object": "chat.completion",
            "created": 1765065600, "model": body.get("model", ""),
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": min(prompt, total), "total_tokens": total,
                      "completion_tokens": total - min(prompt, total)},
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a hung or kept-alive connection must not hold up the test's end
    fake: LlmFake

    def handle_error(self, request: Any, client_address: Any) -> None:
        kind = sys.exc_info()[0]
        if kind is not None and not issubclass(kind, ConnectionError):
            self.fake.errors.append(kind.__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each reply's body waits 40 ms for a delayed ACK
    fake: LlmFake

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != PATH:
            return self._json(404, _error(f"no route {self.path}", "not_found"))
        try:
            body = json.loads(raw)
        except ValueError:
            return self._json(400, _error("the body is not JSON", "invalid_request_error"))
        fake = self.fake
        request, fails = fake.take(body, {k.lower(): v for k, v in self.headers.items()})
        try:
            if fake.mode == "hang":
                fake.stop.wait()
                self.close_connection = True
            elif not (fake.latency and fake.stop.wait(fake.latency)):
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(body, request, fails)
        finally:
            fake.done()
        return None

    def _answer(self, body: dict[str, Any], request: Request | None, fails: bool) -> None:
        fake = self.fake
        if fails:
            assert fake.status is not None
            extra = {"Retry-After": fake.retry_after} if fake.retry_after else {}
            return self._json(fake.status, _error("the fake is failing", "server_error"), extra)
        if request is None:
            return self._json(400, _error("not a contract request", "invalid_request_error"))
        refused = [k for k in ("max_tokens", "temperature") if k in body]
        if fake.reasoning_only and refused:
            return self._json(400, _error(f"Unsupported parameter: '{refused[0]}' is not "
                                          "supported with this model.", "invalid_request_error"))
        if fake.mode == "huge":
            return self._huge()
        if fake.mode == "not_chat":
            return self._json(200, {"object": "list", "data": []})
        content = fake.content(request)
        if content is None:
            return self._json(404, _error("no recorded answer for this request", "not_found"))
        if fake.mode == "cut":  # the token cap reached mid-answer
            return self._json(200, fake.completion(body, content[: len(content) // 2], "length"))
        return self._json(200, fake.completion(body, content))

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _huge(self) -> None:
        """A 50 MB chat completion, chunked (no Content-Length), never held whole."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"a" * 2**16
        self._chunk(b'{"choices": [{"message": {"content": "')
        for _ in range(HUGE // len(chunk)):
            if self.fake.stop.is_set():
                return
            self._chunk(chunk)
        self._chunk(b'"}}]}')
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def log_message(self, format: str, *args: object) -> None:
        pass


def _error(message: str, kind: str) -> dict[str, Any]:
    """An error body as OpenAI's API shapes it."""
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}
