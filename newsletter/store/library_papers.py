"""Reference papers for readers' libraries: stored papers by key or title, and the cache of
papers fetched from the arXiv API for liked ids that no source brought."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from newsletter.models import Paper
from newsletter.store.papers import papers_by_keys, row_to_paper
from newsletter.store.tables import library_papers, papers

_CHUNK = 500


def resolve(conn: Connection, keys: Sequence[str]) -> dict[str, Paper]:
    """Reference key (``arxiv:<id>`` or ``title:<normalised>``) -> the paper, where known: a
    stored paper by key, a stored paper by title, or one fetched for a library."""
    wanted = list(dict.fromkeys(keys))
    found = papers_by_keys(conn, wanted)
    titles = [k.removeprefix("title:") for k in wanted if k.startswith("title:") and k not in found]
    for start in range(0, len(titles), _CHUNK):
        query = sa.select(papers).where(papers.c.title_key.in_(titles[start : start + _CHUNK]))
        for row in conn.execute(query).mappings():
            found[f"title:{row['title_key']}"] = row_to_paper(row)
    rest = [k for k in wanted if k.startswith("arxiv:") and k not in found]
    for start in range(0, len(rest), _CHUNK):
        query = sa.select(library_papers).where(
            library_papers.c.key.in_(rest[start : start + _CHUNK]), library_papers.c.title != ""
        )
        for row in conn.execute(query).mappings():
            arxiv_id = row["key"].removeprefix("arxiv:")
            found[row["key"]] = Paper(row["title"], row["abstract"], arxiv_id, row["url"])
    return found


def known(conn: Connection, keys: Sequence[str]) -> set[str]:
    """The ``arxiv:`` keys already stored or already asked of the arXiv API (found or not)."""
    out: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start : start + _CHUNK])
        out |= set(conn.execute(sa.select(papers.c.key).where(papers.c.key.in_(chunk))).scalars())
        query = sa.select(library_papers.c.key).where(library_papers.c.key.in_(chunk))
        out |= set(conn.execute(query).scalars())
    return out


def remember(
    conn: Connection, fetched: Iterable[Paper], asked: Iterable[str], now: datetime
) -> int:
    """Cache fetched papers, and the asked ids arXiv did not know (so they are asked once)."""
    rows = {
        p.key: {"key": p.key, "title": p.title, "abstract": p.abstract, "url": p.url,
                "fetched_at": now}
        for p in fetched
    }
    for key in asked:
        rows.setdefault(key, {"key": key, "title": "", "abstract": "", "url": "",
                              "fetched_at": now})
    if not rows:
        return 0
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[conn.dialect.name]
    conn.execute(dialect.insert(library_papers).on_conflict_do_nothing(), list(rows.values()))
    return sum(1 for r in rows.values() if r["title"])
