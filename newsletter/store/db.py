"""Open an engine for a database URL and bring its schema up to date."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsletter.errors import StoreError
from newsletter.store.migrate import migrate


def open_engine(url: str, *, upgrade: bool = True) -> Engine:
    """Create an engine (SQLite tuned for concurrent readers) and migrate it unless told not to."""
    if not url.startswith(("sqlite", "postgresql")):
        raise StoreError(
            f"key 'newsletter.database_url' {_safe(url)}: not supported "
            "(use sqlite:///FILE or postgresql://USER@HOST/DATABASE)"
        )
    try:
        engine = _create(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ModuleNotFoundError) as exc:
        raise StoreError(f"key 'newsletter.database_url' {_safe(url)}: {exc}") from None
    if upgrade:
        try:
            migrate(engine)
        except (sa.exc.OperationalError, sa.exc.DatabaseError) as exc:
            engine.dispose()
            first = str(exc.orig or exc).splitlines()[0]
            raise StoreError(f"cannot open database {_safe(url)}: {first}") from None
        except BaseException:
            engine.dispose()
            raise
    return engine


def _create(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that BEGIN IMMEDIATE
    # below takes the write lock up front: no deadlocked upgrades from read to write.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _safe(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid url>"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite hands naive ones back)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
