"""Stored papers' arXiv categories: which papers were never asked about, and what was found."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsletter.store.tables import papers


def not_asked(conn: Connection, since: datetime, limit: int) -> list[str]:
    """The arXiv ids of papers first seen since ``since`` whose categories were never asked,
    newest first."""
    query = (
        sa.select(papers.c.arxiv_id)
        .where(papers.c.arxiv_id.is_not(None), papers.c.arxiv_categories.is_(None),
               papers.c.first_seen >= since)
        .order_by(papers.c.first_seen.desc(), papers.c.id.desc())
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def counts(conn: Connection, since: datetime) -> tuple[int, int]:
    """Of the papers with an arXiv id first seen since ``since``: how many have categories
    stored (asked, some found), and how many were never asked."""
    found = sa.func.coalesce(sa.func.length(sa.cast(papers.c.arxiv_categories, sa.Text)), 0) > 2
    query = sa.select(
        sa.func.count().filter(found), sa.func.count().filter(papers.c.arxiv_categories.is_(None))
    ).where(papers.c.arxiv_id.is_not(None), papers.c.first_seen >= since)
    have, waiting = conn.execute(query).one()
    return int(have), int(waiting)


def keep(conn: Connection, found: Mapping[str, Sequence[str]], asked: Sequence[str]) -> int:
    """Store the categories ``found`` by arXiv id, and [] for the ``asked`` ids arXiv did not
    know (so they are asked once); returns how many papers gained categories."""
    rows = [{"paper": f"arxiv:{i}", "codes": list(found.get(i, ()))}
            for i in dict.fromkeys([*asked, *found])]
    if rows:  # one statement, run for every row
        conn.execute(
            sa.update(papers).where(papers.c.key == sa.bindparam("paper"))
            .values(arxiv_categories=sa.bindparam("codes", type_=papers.c.arxiv_categories.type)),
            rows,
        )
    return sum(1 for codes in found.values() if codes)
