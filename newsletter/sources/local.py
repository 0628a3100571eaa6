"""Reading a local source file under the same byte cap as an HTTP body.

Only a regular file is read: a FIFO would wait for a writer forever and a device such as
``/dev/zero`` never ends, so both are refused, by what the path is, before they are opened.
The file is opened without blocking and checked again once open (it may have been swapped),
and at most ``limit + 1`` bytes are read whatever size the file claims.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from newsletter.errors import SourceError

CHUNK = 1 << 20
NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO swapped in after the check never waits
OPEN_FLAGS = os.O_RDONLY | NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def read_file(path: Path, limit: int, source: str) -> bytes:
    """The bytes of the regular file ``path``, or ``SourceError`` naming ``source``."""
    try:
        _check_regular(os.stat(path).st_mode, source)
        fd = os.open(path, OPEN_FLAGS)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise SourceError(source, f"cannot read file: {_reason(exc)}") from None
    with io.FileIO(fd, "rb", closefd=True) as file:
        try:
            _check_regular(os.fstat(fd).st_mode, source)
            if NONBLOCK:
                os.set_blocking(fd, True)
            body = _read_at_most(file, limit + 1)
        except OSError as exc:
            raise SourceError(source, f"cannot read file: {_reason(exc)}") from None
    if len(body) > limit:
        raise SourceError(source, f"file is larger than max_bytes {limit}")
    return body


def _check_regular(mode: int, source: str) -> None:
    if not stat.S_ISREG(mode):
        raise SourceError(source, f"not a regular file but {_kind(mode)}")


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def _read_at_most(file: io.FileIO, size: int) -> bytes:
    """Up to ``size`` bytes, in chunks, so a lying or growing file costs no more memory."""
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = file.read(min(CHUNK, left))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _reason(exc: OSError | ValueError) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
