"""Version 7: papers fetched for readers' libraries (liked papers that no source brought)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "library_papers",
        meta,
        sa.Column("key", sa.String(300), primary_key=True),  # arxiv:<id>
        sa.Column("title", sa.Text, nullable=False),  # "" when the id is unknown to arXiv
        sa.Column("abstract", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    )
    meta.create_all(conn)
