"""A reader's library as liked papers: Zotero exports (BibTeX, RIS, CSL-JSON) or a list of
arXiv ids, links or titles, one a line.

Each entry becomes one reference key the matcher understands: ``arxiv:<id>`` when an arXiv id
is found anywhere in it (eprint, URL, note, an arXiv DOI), ``title:<normalised title>`` when
it has a title, and both joined by ``|`` when it has both
(``arxiv:2306.17670|title:learning delays in spiking neural networks``), so that a paper a
source stored without its arXiv id is still found by its title. Reading never fails on one
bad entry: entries without a title or an id are counted, not kept; a file with no usable
entry, or one that is not text, is refused in one line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from newsletter import library_scan
from newsletter.errors import SubscriberError
from newsletter.models import normalize_title

MAX_BYTES = 20 * 1024 * 1024
MAX_ENTRIES = 20_000
MAX_PART = 300  # characters of one key (``arxiv:<id>`` or ``title:<...>``); longer titles are cut
MAX_KEY = 2 * MAX_PART + 1  # an entry's key: its id and its title
ALSO = "|"  # joins the keys of one entry; never in an arXiv id or a normalised title
ARXIV = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|arxiv[:.\s]\s*|10\.48550/arxiv\.|^)"
    r"(\d{4}\.\d{4,5})(?:v\d+)?(?![\d.])",
    re.IGNORECASE | re.MULTILINE,
)
STORED = re.compile(r"arxiv:\d{4}\.\d{4,5}\|title:\S")
# A liked paper as the preferences form shows it (``app/liked.py``): its title, then its id.
SHOWN_ID = re.compile(r"(\d{4}\.\d{4,5})(?:v\d+)?\)")
_TEX_COMMAND = re.compile(r"\\[a-zA-Z]+\*?\s*|\\.")


@dataclass(frozen=True)
class Library:
    """The reference keys read from one library, and how many entries gave none."""

    keys: tuple[str, ...]
    unreadable: int = 0


def read(body: bytes, name: str) -> Library:
    """Parse a library file's bytes; the format follows the name's suffix, else the content."""
    if len(body) > MAX_BYTES:
        raise SubscriberError(f"{name}: larger than {MAX_BYTES // 2**20} MB")
    if body.startswith(b"%PDF"):
        raise SubscriberError(f"{name}: a PDF, not a library export")
    text = _decode(body)
    if not _is_text(text):
        raise SubscriberError(f"{name}: not a text file")
    kind = _kind(name, text)
    entries = {"bib": _bibtex, "ris": _ris, "json": _csl_json, "txt": _lines}[kind](text, name)
    if len(entries) > MAX_ENTRIES:
        raise SubscriberError(f"{name}: more than {MAX_ENTRIES} entries ({len(entries)})")
    keys = [key for entry in entries if (key := entry_key(entry))]
    # An empty export (a new collection: "[]", a .bib of comments) is an empty library.
    bare = kind == "json" or (kind == "bib" and "@" in text)
    empty = not text.strip() or (not entries and bare)
    if not keys and not empty:
        raise SubscriberError(f"{name}: no entry with an arXiv id or a title")
    return Library(unique(keys), len(entries) - len(keys))


def entry_key(fields: dict[str, str]) -> str | None:
    """``arxiv:<id>`` from any field that names one and ``title:<normalised>``, joined by
    ``ALSO`` when the entry has both; None when it has neither."""
    keys = []
    for name in ("eprint", "arxiv", "number", "doi", "url", "note", "journal", "id", "line"):
        found = ARXIV.search(fields.get(name, "")) if name != "number" else _number(fields)
        if found:
            keys.append(f"arxiv:{found.group(1)}")
            break
    title = normalize_title(_untex(fields.get("title", "")))[: MAX_PART - len("title:")]
    if title:
        keys.append(f"title:{title.rstrip()}")
    return ALSO.join(keys) or None


def alternatives(key: str) -> tuple[str, ...]:
    """The keys one library entry is known by: ``arxiv:1|title:t`` -> (``arxiv:1``, ``title:t``)."""
    return tuple(key.split(ALSO))


def unique(keys: Iterable[str]) -> tuple[str, ...]:
    """``keys`` with each paper once: entries are the same paper when they share their first
    key (the arXiv id, or the title when there is none); the one that also has a title wins."""
    out: dict[str, str] = {}
    for key in keys:
        first = alternatives(key)[0]
        if first not in out or (ALSO in key and ALSO not in out[first]):
            out[first] = key
    return tuple(out.values())


def expand(keys: Iterable[str]) -> list[str]:
    """Every key the entries ``keys`` are known by, each once, in order."""
    return list(dict.fromkeys(k for key in keys for k in alternatives(key)))


def _is_text(text: str) -> bool:
    """No NUL and few control characters: a library export, not an image or an archive."""
    head = text[:65536]
    controls = sum(1 for c in head if c < " " and c not in "\t\n\r\f\v\x1a")
    return "\x00" not in head and controls <= max(2, len(head) // 100)


def _number(fields: dict[str, str]) -> re.Match[str] | None:
    value = fields.get("number", "")
    return ARXIV.search(value) if "arxiv" in value.lower() else None


def _decode(body: bytes) -> str:
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in body[:200]:
        return body.decode("utf-16", errors="replace")  # "Unicode" exports on Windows
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")  # older Zotero and BibTeX exports


def _kind(name: str, text: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in ("bib", "bibtex"):
        return "bib"
    if suffix == "ris":
        return "ris"
    if suffix == "json":
        return "json"
    head = text.lstrip()[:4096]
    if head.startswith(("[", "{")):
        return "json"
    if re.search(r"^\s*@\w+\s*[{(]", head, re.MULTILINE):
        return "bib"
    if re.search(r"^TY  -", head, re.MULTILINE):
        return "ris"
    return "txt"


def _bibtex(text: str, name: str) -> list[dict[str, str]]:
    return library_scan.bibtex_entries(text, name, MAX_ENTRIES)


def _untex(value: str) -> str:
    return " ".join(_TEX_COMMAND.sub(" ", value).replace("{", "").replace("}", "").split())


RIS_FIELDS = {"TI": "title", "T1": "title", "DO": "doi", "UR": "url", "L1": "url", "N1": "note",
              "JO": "journal", "JF": "journal", "T2": "journal", "M1": "number"}


def _ris(text: str, name: str) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = []
    current: dict[str, list[str]] | None = None
    size = first = 0
    for line_no, line in enumerate(text.splitlines(), 1):
        tag, sep, value = line.partition("  - ")
        tag = tag.strip()
        ends = line.strip() in ("ER  -", "ER -")
        if not sep and not ends:
            continue
        if tag == "TY":
            current, size, first = {}, 0, line_no
        elif tag == "ER" or ends:
            if current is not None:
                _add(entries, _joined(current), name)
            current = None
        elif current is not None and tag in RIS_FIELDS:
            size += len(line)
            if size > library_scan.MAX_ENTRY_CHARS:
                raise SubscriberError(
                    f"{name}: the entry at line {first} is longer than "
                    f"{library_scan.MAX_ENTRY_CHARS} characters"
                )
            current.setdefault(RIS_FIELDS[tag], []).append(value.strip())
    if current:
        _add(entries, _joined(current), name)
    return entries


def _joined(fields: dict[str, list[str]]) -> dict[str, str]:
    return {field: " ".join(v for v in values if v) for field, values in fields.items()}


def _add(entries: list[dict[str, str]], entry: dict[str, str], name: str) -> None:
    entries.append(entry)
    if len(entries) > MAX_ENTRIES:
        raise SubscriberError(f"{name}: more than {MAX_ENTRIES} entries")


def _csl_json(text: str, name: str) -> list[dict[str, str]]:
    library_scan.check_json_depth(text, name)
    try:
        data = json.loads(text)
    except RecursionError:  # the scan above keeps nesting far from this; never a traceback
        raise SubscriberError(f"{name}: not valid CSL-JSON (nested too deep)") from None
    except json.JSONDecodeError as exc:
        problem = f"not valid CSL-JSON (line {exc.lineno}: {exc.msg})"
        raise SubscriberError(f"{name}: {problem}") from None
    if isinstance(data, dict):
        data = data.get("items", [])
    items = data if isinstance(data, list) else []
    return [_csl_fields(item) for item in items if isinstance(item, dict)]


def _csl_fields(item: dict[str, Any]) -> dict[str, str]:
    pick = {"title": "title", "DOI": "doi", "URL": "url", "number": "number", "note": "note",
            "id": "id", "container-title": "journal", "arXiv": "arxiv"}
    return {ours: str(item[theirs]) for theirs, ours in pick.items() if item.get(theirs)}


def _shown(line: str) -> tuple[str, str] | None:
    """(title, id) of a line like "Some title (arXiv:2403.03950)", in one pass over it."""
    head, sep, tail = line.rpartition("(arXiv:")
    found = SHOWN_ID.fullmatch(tail) if sep else None
    if not found or not head[-1:].isspace() or not head.strip():
        return None
    return head.rstrip(), found.group(1)


def _lines(text: str, name: str) -> list[dict[str, str]]:
    """One entry a line: an arXiv id or link, else a title (three words or more)."""
    entries: list[dict[str, str]] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if STORED.match(line):  # a key as stored: "arxiv:1|title:t"
            line, _, title = line.partition(ALSO)
            entries.append({"line": line, "title": title.removeprefix("title:")})
        elif shown := _shown(line):  # as the preferences form shows it
            entries.append({"line": f"arXiv:{shown[1]}", "title": shown[0]})
        elif ARXIV.search(line):
            entries.append({"line": line})
        elif line.startswith("title:") or len(line.split()) >= 3:
            entries.append({"title": line.removeprefix("title:")})
        elif line:
            entries.append({})
    return entries
