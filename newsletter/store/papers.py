"""Store papers once by identity, merging what each new sighting adds; list them back."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsletter.models import (
    ARXIV_ID_CHARS,
    KEY_CHARS,
    TITLE_KEY_CHARS,
    Paper,
    merge_papers,
    normalize_title,
)
from newsletter.store.tables import feedback, papers, sent_papers

_CHUNK = 500


def column_length(column: sa.Column[Any]) -> int:
    """The most characters a ``String(n)`` column holds."""
    assert isinstance(column.type, sa.String) and column.type.length, column
    return column.type.length


_SOURCE_CHARS = column_length(papers.c.source)  # the name of the source that first brought it


@dataclass(frozen=True)
class UpsertCounts:
    """What an ingest did: papers added, papers that gained information, papers already known."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.new + other.new, self.updated + other.updated, self.unchanged + other.unchanged
        )


def upsert_papers(
    conn: Connection, items: Iterable[Paper], source: str, now: datetime
) -> UpsertCounts:
    """Insert unknown papers and merge new facts into known ones, in the caller's transaction."""
    merged: dict[str, Paper] = {}
    for paper in items:  # the same paper twice in one page counts once
        merged[paper.key] = merge_papers(merged[paper.key], paper) if paper.key in merged else paper
    counts = UpsertCounts()
    keys = list(merged)
    for start in range(0, len(keys), _CHUNK):
        chunk = {k: merged[k] for k in keys[start : start + _CHUNK]}
        counts += _upsert_chunk(conn, chunk, source, now)
    return counts


def _upsert_chunk(
    conn: Connection, chunk: dict[str, Paper], source: str, now: datetime
) -> UpsertCounts:
    rows = conn.execute(sa.select(papers).where(papers.c.key.in_(chunk))).mappings()
    known = {row["key"]: row_to_paper(row) for row in rows}
    known |= _same_titles(conn, [p for k, p in chunk.items() if k not in known])
    new = [
        to_row(p) | {"source": source[:_SOURCE_CHARS], "first_seen": now, "updated_at": now}
        for k, p in chunk.items()
        if k not in known
    ]
    if new:
        conn.execute(sa.insert(papers), new)
    updated = 0
    for key, old in known.items():
        combined = merge_papers(old, chunk[key])
        if combined != old:
            updated += 1
            values = to_row(combined) | {"updated_at": now}
            if not combined.categories:  # [] (asked, none found) is not "not asked" again
                del values["arxiv_categories"]
            conn.execute(sa.update(papers).where(papers.c.key == old.key).values(values))
            if combined.key != old.key:
                rekey(conn, old.key, combined.key)
    return UpsertCounts(len(new), updated, len(known) - updated)


def _same_titles(conn: Connection, incoming: list[Paper]) -> dict[str, Paper]:
    """Stored papers that are the same as an incoming one seen with or without its arXiv id.

    A title-only sighting joins a stored paper of that title; a sighting with an arXiv id
    joins only a stored paper that had no id yet (two ids are two papers).
    """
    if not incoming:
        return {}
    titles = {_title_key(p) for p in incoming}
    query = sa.select(papers).where(papers.c.title_key.in_(titles))
    stored: dict[str, list[Paper]] = {}
    for row in conn.execute(query).mappings():
        stored.setdefault(row["title_key"], []).append(row_to_paper(row))
    found: dict[str, Paper] = {}
    for paper in incoming:
        for old in stored.get(_title_key(paper), []):
            if paper.arxiv_id is None or old.arxiv_id is None:
                found[paper.key] = old
                break
    return found


def rekey(conn: Connection, old: str, new: str) -> None:
    """A paper learned its arXiv id: move its sent history and feedback to the new key."""
    for table in (sent_papers, feedback):
        taken = sa.select(table.c.email).where(table.c.paper_key == new).scalar_subquery()
        conn.execute(
            sa.update(table)
            .where(table.c.paper_key == old, table.c.email.not_in(taken))
            .values(paper_key=new)
        )
        conn.execute(sa.delete(table).where(table.c.paper_key == old))


def moved_keys(conn: Connection, keys: Sequence[str]) -> dict[str, str]:
    """For ``title:`` keys whose paper has since learned its arXiv id: old key -> new key.

    Issue rows keep the keys they were enqueued with; this finds those papers again."""
    titled = {k: k.removeprefix("title:")[:TITLE_KEY_CHARS] for k in keys
              if k.startswith("title:")}
    if not titled:
        return {}
    found: dict[str, str] = {}
    wanted = sorted(set(titled.values()))
    for start in range(0, len(wanted), _CHUNK):
        query = sa.select(papers.c.title_key, papers.c.key).where(
            papers.c.title_key.in_(wanted[start : start + _CHUNK]), papers.c.arxiv_id.is_not(None))
        found.update((title_key, key) for title_key, key in conn.execute(query))
    return {old: found[t] for old, t in titled.items() if t in found and found[t] != old}


def to_row(p: Paper) -> dict[str, Any]:
    """The row for ``p``; a key or an arXiv id longer than its column is refused the same way on
    every database (SQLite would keep it, PostgreSQL refuse it); sources fit them beforehand."""
    if len(p.key) > KEY_CHARS or len(p.arxiv_id or "") > ARXIV_ID_CHARS:
        raise ValueError(f"paper {p.key[:60]!r}...: key or arXiv id too long for the store")
    return {
        "key": p.key,
        "arxiv_id": p.arxiv_id,
        "title": p.title,
        "abstract": p.abstract,
        "url": p.url,
        "authors": list(p.authors),
        "author_count": p.author_count,
        "published": p.published,
        "upvotes": p.upvotes,
        "ai_summary": p.ai_summary,
        "ai_keywords": list(p.ai_keywords),
        "title_key": _title_key(p),
        "code_url": p.code_url or None,
        "arxiv_categories": list(p.categories) or None,
    }


def _title_key(p: Paper) -> str:
    return normalize_title(p.title)[:TITLE_KEY_CHARS]


def row_to_paper(row: Any) -> Paper:
    return Paper(
        title=row["title"],
        abstract=row["abstract"],
        arxiv_id=row["arxiv_id"],
        url=row["url"] or "",
        authors=tuple(row["authors"] or ()),
        author_count=row["author_count"],
        published=row["published"],
        upvotes=row["upvotes"],
        ai_summary=row["ai_summary"],
        ai_keywords=tuple(row["ai_keywords"] or ()),
        code_url=row["code_url"] or "",
        categories=tuple(row["arxiv_categories"] or ()),
    )


def list_papers(
    conn: Connection,
    *,
    since: datetime | date | None = None,
    search: str = "",
    limit: int | None = None,
    until: datetime | None = None,
) -> list[Paper]:
    """Stored papers, newest first, optionally first seen since (and until) a moment or
    matching text."""
    return list(iter_papers(conn, since=since, search=search, limit=limit, until=until))


def iter_papers(
    conn: Connection,
    *,
    since: datetime | date | None = None,
    search: str = "",
    limit: int | None = None,
    until: datetime | None = None,
) -> Iterator[Paper]:
    query = sa.select(papers).order_by(papers.c.first_seen.desc(), papers.c.id.desc())
    if since is not None:
        if not isinstance(since, datetime):
            since = datetime.combine(since, datetime.min.time())
        query = query.where(papers.c.first_seen >= since)
    if until is not None:
        query = query.where(papers.c.first_seen <= until)
    for word in search.split():
        pattern = f"%{word.lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(papers.c.title).like(pattern),
                sa.func.lower(papers.c.abstract).like(pattern),
            )
        )
    if limit is not None:
        query = query.limit(limit)
    for row in conn.execute(query).mappings():
        yield row_to_paper(row)


def papers_by_keys(conn: Connection, keys: Sequence[str]) -> dict[str, Paper]:
    out: dict[str, Paper] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start : start + _CHUNK])
        for row in conn.execute(sa.select(papers).where(papers.c.key.in_(chunk))).mappings():
            out[row["key"]] = row_to_paper(row)
    return out


def count_papers(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar_one())
