"""Version 10: the code repository of a paper (the Hugging Face API's ``githubRepo``)."""

from __future__ import annotations

from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE papers ADD COLUMN code_url TEXT")
