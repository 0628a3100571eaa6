"""Version 30: a paper's arXiv categories (``arxiv_categories``: NULL until the arXiv API was
asked, then the list it gave, primary first, or [] when it gave none)."""

from __future__ import annotations

from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE papers ADD COLUMN arxiv_categories JSON")
