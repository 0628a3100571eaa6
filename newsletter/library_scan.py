"""Bounded, linear scanners for library exports: BibTeX entries and fields, and the nesting
depth of CSL-JSON before it is decoded.

Every character is looked at a bounded number of times (the scanners jump between braces,
quotes and separators with anchored expressions that never backtrack over what they passed),
so reading time grows with the size of the export, whatever it holds: a 500 KB unbroken
word, braces nested thousands deep or an entry that never closes. Each limit, and a brace
that is never closed, is refused in one line naming the file and the entry's line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from newsletter.errors import SubscriberError

MAX_ENTRY_CHARS = 100_000  # characters of one BibTeX entry (a long abstract fits)
MAX_DEPTH = 32  # braces inside a BibTeX entry, brackets and braces in CSL-JSON

_ENTRY_OPEN = re.compile(r"@[ \t\r\n]*(\w+)[ \t\r\n]*([{(])")
_ENTRY_MARKS = re.compile(r'[{}"()]')
_SPACE = re.compile(r"[\s,]*")
_BLANK = re.compile(r"\s*")
_NAME = re.compile(r"[^\s=,{}\"#()]+")
_BARE = re.compile(r"[^\s,#{}\"()]*")
_JSON_MARK = re.compile(r'[\[\]{}"]')
_JSON_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
SKIPPED = ("comment", "string", "preamble")


def bibtex_entries(text: str, name: str, max_entries: int) -> list[dict[str, str]]:
    """The fields of each entry (names in lower case, the first of a repeated name wins),
    ``@comment``, ``@string`` and ``@preamble`` left out."""
    entries: list[dict[str, str]] = []
    at = text.find("@")
    while at != -1:
        opened = _ENTRY_OPEN.match(text, at)
        if not opened:
            at = text.find("@", at + 1)
            continue
        start = opened.end()
        end = _entry_end(text, at, start, opened.group(2), name)
        if opened.group(1).lower() not in SKIPPED:
            entries.append(dict(_fields(text, start, end - 1)))
            if len(entries) > max_entries:
                raise SubscriberError(f"{name}: more than {max_entries} entries")
        at = text.find("@", end)
    return entries


def _where(text: str, at: int) -> str:
    head = text[at : at + 40].split(",", 1)[0].split("\n", 1)[0]
    return f"the entry at line {text.count(chr(10), 0, at) + 1} ({head})"


def _entry_end(text: str, at: int, start: int, opener: str, name: str) -> int:
    """Just past the brace (or parenthesis) that closes the entry opened at ``at``."""
    limit = min(len(text), at + MAX_ENTRY_CHARS)
    depth, quoted = 0, False
    for mark in _ENTRY_MARKS.finditer(text, start, limit):
        c = mark.group()
        if c == "{":
            depth += 1
            if depth > MAX_DEPTH:
                raise SubscriberError(
                    f"{name}: braces nested more than {MAX_DEPTH} deep in {_where(text, at)}"
                )
        elif c == "}":
            if depth == 0:
                if opener == "{":
                    return mark.end()
                continue  # a stray brace in a parenthesised entry: BibTeX ignores it too
            depth -= 1
        elif c == '"' and depth == 0:
            quoted = not quoted
        elif c == ")" and opener == "(" and depth == 0 and not quoted:
            return mark.end()
    if limit < len(text):
        raise SubscriberError(
            f"{name}: {_where(text, at)} is longer than {MAX_ENTRY_CHARS} characters "
            "(or a brace in it is never closed)"
        )
    raise SubscriberError(f"{name}: unbalanced braces: {_where(text, at)} is never closed")


def _fields(text: str, i: int, end: int) -> Iterator[tuple[str, str]]:
    """``name = value`` pairs between ``i`` and ``end`` (the entry's closing brace); the
    citation key and anything that is not a field are passed over."""
    seen: set[str] = set()
    while True:
        i = _SPACE.match(text, i, end).end()  # type: ignore[union-attr]
        named = _NAME.match(text, i, end)
        if named is None:
            if i >= end:
                return
            i = _after_value(text, i, end)  # a stray brace or quote: its group is skipped
            continue
        i = _SPACE.match(text, named.end(), end).end()  # type: ignore[union-attr]
        if i >= end or text[i] != "=":
            continue  # the citation key, or a word that names no field
        value, i = _value(text, i + 1, end)
        field = named.group().lower()
        if field not in seen:
            seen.add(field)
            yield field, value


def _value(text: str, i: int, end: int) -> tuple[str, int]:
    """A field's value (its parts joined by ``#`` concatenated) and where it ends."""
    parts = []
    while True:
        i = _skip_blank(text, i, end)
        if i >= end:
            break
        after = _after_value(text, i, end)
        if text[i] in '{"':
            closed = after <= end and text[after - 1] == text[i].replace("{", "}")
            parts.append(text[i + 1 : after - 1 if closed else after])
        else:
            parts.append(text[i:after])
        i = _skip_blank(text, after, end)
        if i >= end or text[i] != "#":
            break
        i += 1
    return "".join(parts), i


def _skip_blank(text: str, i: int, end: int) -> int:
    return _BLANK.match(text, i, max(i, end)).end()  # type: ignore[union-attr]


def _after_value(text: str, i: int, end: int) -> int:
    """Just past the braced group, quoted string or bare word that starts at ``i``."""
    c = text[i]
    if c not in '{"':
        word = _BARE.match(text, i, end).end()  # type: ignore[union-attr]
        return max(word, i + 1)
    depth = 0
    for mark in _ENTRY_MARKS.finditer(text, i + 1 if c == '"' else i, end):
        m = mark.group()
        if m == "{":
            depth += 1
        elif m == "}":
            depth -= 1
            if depth <= 0 and c == "{":
                return mark.end()
            depth = max(depth, 0)
        elif m == '"' and c == '"' and depth == 0:
            return mark.end()
    return end


def check_json_depth(text: str, name: str) -> None:
    """Refuse CSL-JSON whose arrays and objects nest deeper than ``MAX_DEPTH`` (a deep enough
    nesting is a ``RecursionError`` in the decoder); a string that never ends stops the scan
    and is left to the decoder to report."""
    depth, i = 0, 0
    while (mark := _JSON_MARK.search(text, i)) is not None:
        c, i = mark.group(), mark.end()
        if c == '"':
            rest = _JSON_STRING_REST.match(text, i)
            if rest is None:
                return
            i = rest.end()
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, i) + 1
                raise SubscriberError(
                    f"{name}: not valid CSL-JSON (line {line}: nested more than {MAX_DEPTH} deep)"
                )
        else:
            depth -= 1
