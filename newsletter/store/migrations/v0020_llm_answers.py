"""Version 20: what a language model answered (labels, phrases, rerank scores) and what each
run asked of it. Numbered apart from the schema fixes of version 12 on, which were written
beside it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "llm_answers", meta,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("use", sa.String(32), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("reply", sa.JSON, nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "rerank_scores", meta,
        sa.Column("reader", sa.String(64), primary_key=True),
        sa.Column("paper_key", sa.String(300), primary_key=True),
        sa.Column("score", sa.SmallInteger, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "llm_runs", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("use", sa.String(32), nullable=False),
        sa.Column("asked", sa.Integer, nullable=False),
        sa.Column("answered", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("skipped", sa.Integer, nullable=False),
        sa.Column("tokens", sa.Integer, nullable=False),
    )
    meta.create_all(conn)
