"""Version 25: when a reader's feedback links were opened (``link_opens``), so that a burst of
them, a mail scanner opening every link of an issue, records no vote; and the web sign-ups of
readers whose profile a subscriber file keeps (``file_reader_signups``), for the operator to be
told at the next sync. Numbered apart from the versions written beside it on other branches."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "link_opens", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("paper_key", sa.String(300), nullable=False),
        sa.Column("judgment", sa.SmallInteger, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("before", sa.SmallInteger),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("link_opens_email_at", "email", "at"),
    )
    sa.Table(
        "file_reader_signups", meta,
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("profile", sa.JSON, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    meta.create_all(conn)
