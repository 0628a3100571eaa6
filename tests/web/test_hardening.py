"""Web hardening (issue 24): HSTS and X-Frame-Options, a form's CPU work off the event loop
with a deadline, a bad library as one line on a 400 page, a body that is not UTF-8 as 400,
slow and silent connections closed by a real uvicorn server on loopback, and the form limit
the docs state being the code's."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from newsletter import library_files
from newsletter.app.accounts import Site
from newsletter.delivery.memory import MemoryMailer
from newsletter.web import forms, work
from newsletter.web import server as web_server
from newsletter.web.app import create_app
from newsletter.web.forms import MAX_BODY

from .conftest import csrf_of, form, run_apart, subscribe, web_config

DOCS = Path(__file__).resolve().parents[2] / "docs" / "service.md"


def test_every_answer_forbids_framing_and_https_sites_ask_for_https(
    client: TestClient, tmp_path: Path, engine, mailer: MemoryMailer  # type: ignore[no-untyped-def]
) -> None:
    for path in ("/", "/healthz", "/no-such-page"):
        answer = client.get(path)
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in answer.headers  # http: HSTS would be ignored
    config = web_config(tmp_path, base_url="https://news.example.org")
    site = Site(config, engine, lambda: mailer, send_inline=True)
    with TestClient(create_app(site), base_url="https://news.example.org") as https:
        for path in ("/", "/no-such-page"):
            assert https.get(path).headers["Strict-Transport-Security"] == "max-age=31536000"


def test_a_library_nested_five_thousand_deep_is_one_line_on_a_400_page(
    client: TestClient, mailer: MemoryMailer
) -> None:
    """It was a RecursionError: a 500 on /subscribe."""
    page = subscribe(client, library="[" * 5000)
    assert page.status_code == 400 and mailer.outbox == []
    assert "We could not read this list: not valid CSL-JSON (line 1: nested more than 32 deep)" \
        in page.text


def test_a_long_word_in_a_pasted_bibtex_library_is_read_at_once(
    client: TestClient, mailer: MemoryMailer
) -> None:
    """30 KB in one word held the server for 10 s."""
    library = "@article{a, title={Kept paper}}\n@article{b, " + "a" * 30_000 + "}\n"
    page = subscribe(client, library=library)
    assert page.status_code == 200 and len(mailer.outbox) == 1


def slow_read(seconds: float):  # type: ignore[no-untyped-def]
    """``library_files.read`` that holds its thread as a long parse would."""
    real = library_files.read

    def read(body: bytes, name: str) -> library_files.Library:
        time.sleep(seconds)
        return real(body, name)

    return read


async def signup_beside_healthz(site: Site) -> list[str]:
    """Post a sign-up with a library and ask /healthz while it is read; the order they end."""
    done: list[str] = []
    transport = httpx.ASGITransport(app=create_app(site))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
        token = csrf_of((await web.get("/")).text)

        async def post() -> None:
            await web.post("/subscribe", data=form(csrf=token, library="2306.17670"))
            done.append("signup")

        async def health() -> None:
            await anyio.sleep(0.2)  # the sign-up is being read
            assert (await web.get("/healthz")).text == "ok\n"
            done.append("healthz")

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(post)
            tasks.start_soon(health)
    return done


def test_a_slow_library_parse_leaves_healthz_answering(
    site: Site, mailer: MemoryMailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parse ran in the request handler itself: /healthz waited for it to end."""
    monkeypatch.setattr(library_files, "read", slow_read(1.5))
    assert run_apart(signup_beside_healthz, site) == ["healthz", "signup"]
    assert len(mailer.outbox) == 1


def test_a_parse_past_its_deadline_is_a_400_page(
    client: TestClient, mailer: MemoryMailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(library_files, "read", slow_read(3))
    monkeypatch.setattr(work, "WORK_SECONDS", 0.3)
    page = subscribe(client, library="2306.17670")
    assert page.status_code == 400 and mailer.outbox == []
    assert "Reading the form took longer than 0.3 seconds" in page.text


def test_the_documented_form_limit_is_the_code_s() -> None:
    text = " ".join(DOCS.read_text(encoding="utf-8").split())
    assert f"A form body over {MAX_BODY // 1024} KB" in text


@pytest.fixture
def live(site: Site, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    """``newsletter serve``'s uvicorn settings on a loopback port, deadlines shortened."""
    monkeypatch.setattr(web_server.HeaderDeadline, "header_seconds", 0.5)
    config = web_server.server_config(create_app(site), "127.0.0.1", 0)
    config.timeout_keep_alive = 1
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield server.servers[0].sockets[0].getsockname()[:2]
    server.should_exit = True
    thread.join(10)


def closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> bool:
    """Whether the server closes ``sock`` before ``seconds`` pass, sending ``trickle`` a
    byte at a time meanwhile."""
    sock.settimeout(0.1)
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        if sent < len(trickle):
            try:
                sock.sendall(trickle[sent : sent + 1])
            except OSError:
                return True
            sent += 1
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


@pytest.mark.slow
def test_silent_and_slow_header_connections_are_closed(live: tuple[str, int]) -> None:
    """One silent connection stayed open over 40 s, 300 slow-header ones 45 s."""
    silent = socket.create_connection(live)
    trickling = socket.create_connection(live)
    slow = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 200
    with silent, trickling:
        assert closed_within(silent, 5)
        assert closed_within(trickling, 5, slow)
    with socket.create_connection(live) as kept:  # a prompt request is answered, then idles
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        kept.settimeout(5)
        assert kept.recv(4096).startswith(b"HTTP/1.1 200")
        assert closed_within(kept, 5)


def test_a_form_body_that_trickles_past_its_deadline_is_408(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A body sent a byte at a time held its request (and a worker) as long as it liked."""
    monkeypatch.setattr(forms, "BODY_SECONDS", 0.3)

    async def trickle() -> AsyncIterator[bytes]:
        for byte in b"topics=spiking+networks":
            await anyio.sleep(0.05)
            yield bytes([byte])

    with pytest.raises(forms.FormTooSlow, match=r"did not arrive within 0\.3 seconds") as caught:
        run_apart(forms.read_form, trickle())
    assert caught.value.status == 408
