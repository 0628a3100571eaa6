"""Version 9: rate limits shared by every process on PostgreSQL (``store/limits.py``).

``pace`` holds, per name, the next free slot of a pace such as an SMTP mailer's ``max_rate``;
``rate_counts`` counts events per key and fixed time window (the sign-up limits). SQLite
databases get the tables too but never use them: one process keeps its limits in memory.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "pace",
        meta,
        sa.Column("name", sa.String(200), primary_key=True),  # e.g. smtp:<mailer name>
        sa.Column("tat", sa.DateTime(timezone=True), nullable=False),  # the next free slot
    )
    sa.Table(
        "rate_counts",
        meta,
        sa.Column("key", sa.String(400), primary_key=True),  # e.g. client:<address>
        sa.Column("starts", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("ends", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    meta.create_all(conn)
