"""The live definitions of the profile tables (subscribers, sent_papers, feedback, embeddings)."""

from __future__ import annotations

import sqlalchemy as sa

STATUSES = ("active", "paused", "unsubscribed")

meta = sa.MetaData()

subscribers = sa.Table(
    "subscribers",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("profile", sa.JSON, nullable=False),  # every Subscriber field but email and name
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("origin", sa.Text, nullable=False),  # the file it was synced from, or "web"
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

sent_papers = sa.Table(
    "sent_papers",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("paper_key", sa.String(300), nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("email", "paper_key"),
)

feedback = sa.Table(
    "feedback",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("paper_key", sa.String(300), nullable=False),
    sa.Column("judgment", sa.SmallInteger, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("email", "paper_key"),
)

embeddings = sa.Table(
    "embeddings",
    meta,
    sa.Column("key", sa.String(600), primary_key=True),
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
)
