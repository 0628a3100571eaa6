"""The one cleaning step every parsed page passes before anything stores or shows its papers.

Outside text can hold what no database takes or no terminal prints. In every field of every
paper (title, abstract, authors, URL, AI summary and keywords, arXiv id):

- lone surrogates (``\\ud800`` in JSON) become U+FFFD; a split surrogate pair is joined;
- line breaks (CR, CRLF, VT, FF, NEL, U+2028...) become newlines; NUL and every other C0 or C1
  control character except tab and newline is removed;
- the text is put in Unicode NFC and stripped; one-line fields (all but the abstract and the
  AI summary) have their runs of white space folded to one space.

Then the paper must fit the sizes the store's columns are declared with (``models``): a
title whose key (``title:`` and the normalized title) is longer than ``KEY_CHARS`` is cut
after a word and ends in "…", the same way on every sighting so the paper keeps one
identity; an arXiv id must be one (ASCII ``NNNN.NNNNN``); counts must fit a 32-bit integer
column (else unknown). A paper left without a title or an abstract, or with a bad arXiv id, is
skipped with a one-line reason.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import replace

from newsletter.models import KEY_CHARS, Paper, normalize_title, paper_key
from newsletter.sources.base import Page

MAX_INT = 2**31 - 1  # an SQL INTEGER column
ARXIV_ID = re.compile(r"[0-9]{4}\.[0-9]{4,5}")
LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # tab (\x09) and newline (\x0a) stay
ELLIPSIS = "…"


def clean_text(value: str, *, one_line: bool = False) -> str:
    """``value`` with broken Unicode repaired, controls removed, in NFC, stripped."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: pairs are joined, the rest become U+FFFD
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    value = CONTROLS.sub("", LINE_BREAKS.sub("\n", value))
    value = unicodedata.normalize("NFC", value)
    return " ".join(value.split()) if one_line else value.strip()


def clean_line(value: str) -> str:
    """A message or a name, safe to print and store on one line."""
    return clean_text(value, one_line=True)


def fit(value: str, length: int) -> str:
    """``value`` when it has at most ``length`` characters, else a cut that stays distinct.

    A cut keeps the start and ends with ``…`` and 16 hex digits of the whole value's hash.
    """
    if len(value) <= length:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return value[: max(0, length - len(digest) - 1)] + ELLIPSIS + digest


def clean_page(page: Page) -> Page:
    """``page`` with every paper cleaned; papers that cannot be stored join ``skipped``."""
    kept: list[Paper] = []
    skipped = [clean_line(line) for line in page.skipped]
    for paper in page.papers:
        result = clean_paper(paper)
        if isinstance(result, Paper):
            kept.append(result)
        else:
            skipped.append(result)
    return replace(page, papers=tuple(kept), skipped=tuple(skipped))


def clean_paper(paper: Paper) -> Paper | str:
    """``paper`` cleaned and fitted to the store, or a one-line reason why it cannot be."""
    title = fit_title(clean_text(paper.title, one_line=True))
    arxiv_id = clean_text(paper.arxiv_id or "", one_line=True) or None
    label = repr(title[:60]) if title else (repr(arxiv_id) if arxiv_id else "untitled")
    abstract = clean_text(paper.abstract)
    if not title:
        return f"paper {label}: no title (after removing control characters)"
    if not abstract:
        return f"paper {label}: no abstract (after removing control characters)"
    if arxiv_id is not None and not ARXIV_ID.fullmatch(arxiv_id):
        return f"paper {label}: {arxiv_id[:40]!r} is not an arXiv id"
    return Paper(
        title=title,
        abstract=abstract,
        arxiv_id=arxiv_id,
        url=clean_text(paper.url, one_line=True),
        authors=_lines(paper.authors),
        author_count=_count(paper.author_count),
        published=paper.published,
        upvotes=_count(paper.upvotes),
        ai_summary=clean_text(paper.ai_summary or "") or None,
        ai_keywords=tuple(dict.fromkeys(_lines(paper.ai_keywords))),
        code_url=_https(clean_text(paper.code_url, one_line=True)),
    )


def _https(url: str) -> str:
    """``url`` when it is an https link without spaces or quotes, else ""."""
    ok = url.startswith("https://") and not any(c in url for c in " \"'<>\\")
    return url if ok and len(url) <= 300 else ""


def fit_title(title: str) -> str:
    """``title``, cut after a word and ended with "…" when its key is too long for the store.

    The cut depends on the title alone, so every sighting of a paper is cut the same way.
    """
    if len(paper_key(None, title)) <= KEY_CHARS:
        return title
    room = KEY_CHARS - len(paper_key(None, ""))
    low, high = 0, min(len(title), 16 * KEY_CHARS)  # the longest prefix whose key fits
    while low < high:
        middle = (low + high + 1) // 2
        if len(normalize_title(title[:middle])) <= room:
            low = middle
        else:
            high = middle - 1
    cut = title[:low]
    space = cut.rfind(" ")
    if space > low // 2:
        cut = cut[:space]
    while cut and len(normalize_title(cut)) > room:  # a guard: normalizing is not linear
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS


def _lines(values: tuple[str, ...]) -> tuple[str, ...]:
    cleaned = (clean_text(v, one_line=True) for v in values)
    return tuple(v for v in cleaned if v)


def _count(value: int | None) -> int | None:
    return value if value is not None and 0 <= value <= MAX_INT else None
