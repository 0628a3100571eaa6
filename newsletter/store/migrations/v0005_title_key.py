"""Version 5: papers.title_key (the normalized title), so a paper first seen without its arXiv
id and later with it (or the other way round) is recognised as the same paper."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsletter.models import normalize_title


def upgrade(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE papers ADD COLUMN title_key VARCHAR(300)")
    papers = sa.table("papers", sa.column("id"), sa.column("title"), sa.column("title_key"))
    rows = conn.execute(sa.select(papers.c.id, papers.c.title)).all()
    for row_id, title in rows:
        conn.execute(
            sa.update(papers)
            .where(papers.c.id == row_id)
            .values(title_key=normalize_title(title)[:300])
        )
    conn.exec_driver_sql("CREATE INDEX ix_papers_title_key ON papers (title_key)")
