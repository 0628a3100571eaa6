"""Bytes a page should not hold, mended before it is parsed, so one bad byte costs one
character and not the page: a byte that is not UTF-8 becomes U+FFFD and a control byte is
dropped (the rule ``clean`` applies to every field), and where each was is reported.

One pass over the body: it is decoded keeping every bad byte as a lone surrogate
(``surrogateescape``), and the surrogates and control characters are found with one
expression, their byte offsets counted as the scan goes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHOWN = 5  # offsets named in a report; the count says how many more
NUL = "\x00"
XML_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f"  # what XML 1.0 cannot hold, even as a raw byte


@dataclass(frozen=True)
class Repairs:
    """What was mended in one body: how many bytes of each kind and the first offsets."""

    bad: int = 0
    bad_at: tuple[int, ...] = ()
    dropped: int = 0
    dropped_at: tuple[int, ...] = ()

    @property
    def count(self) -> int:
        return self.bad + self.dropped

    def lines(self) -> tuple[str, ...]:
        """One line for the page, or none when nothing was mended."""
        parts = []
        if self.bad:
            parts.append(f"{_bytes(self.bad, 'byte')} that {'is' if self.bad == 1 else 'are'} "
                         f"not UTF-8 replaced by U+FFFD ({_at(self.bad, self.bad_at)})")
        if self.dropped:
            parts.append(f"{_bytes(self.dropped, 'control byte')} dropped "
                         f"({_at(self.dropped, self.dropped_at)})")
        return ("; ".join(parts),) if parts else ()


def _bytes(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _at(n: int, offsets: tuple[int, ...]) -> str:
    more = f" and {n - len(offsets)} more" if n > len(offsets) else ""
    return f"at offset{'' if n == 1 else 's'} {', '.join(map(str, offsets))}{more}"


def mend(body: bytes, *, drop: str = NUL, utf8: bool = True) -> tuple[str, Repairs]:
    """``body`` decoded as UTF-8 with each control character in ``drop`` removed and, with
    ``utf8``, each byte that is not UTF-8 replaced by U+FFFD; without it such bytes stay as
    lone surrogates, so ``text.encode("utf-8", "surrogateescape")`` gives them back (a feed
    in another single-byte encoding)."""
    text = body.decode("utf-8", "surrogateescape")
    marks = f"[{drop}\udc80-\udcff]" if utf8 else f"[{drop}]"
    bad: list[int] = []
    dropped: list[int] = []
    counts = [0, 0]
    out: list[str] = []
    char = offset = 0
    for found in re.finditer(marks, text):
        start = found.start()
        offset += len(text[char:start].encode("utf-8", "surrogateescape"))
        out.append(text[char:start])
        is_bad = found.group() >= "\udc80"
        counts[is_bad] += 1
        shown = bad if is_bad else dropped
        if len(shown) < SHOWN:
            shown.append(offset)
        if is_bad:
            out.append("\ufffd")
        char, offset = start + 1, offset + 1
    if not out:
        return text, Repairs()
    out.append(text[char:])
    return "".join(out), Repairs(counts[1], tuple(bad), counts[0], tuple(dropped))
