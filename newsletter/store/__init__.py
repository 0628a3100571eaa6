"""The database: tables, versioned migrations and queries (SQLAlchemy Core; SQLite, PostgreSQL)."""

from newsletter.store.db import open_engine

__all__ = ["open_engine"]
