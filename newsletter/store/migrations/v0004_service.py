"""Version 4: the scheduler lease (one acting scheduler per database) and pending sign-ups."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "leases",
        meta,
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),  # when the holder last finished work
    )
    sa.Table(
        "pending_signups",
        meta,
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, index=True),
        sa.Column("profile", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
    )
    meta.create_all(conn)
