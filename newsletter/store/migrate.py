"""Versioned schema migrations: ``migrations/vNNNN_*.py`` modules, applied in order, once.

A newer project version opens an older database by applying the migrations it lacks; an
older project version refuses a newer database instead of corrupting it.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from types import ModuleType

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsletter.errors import StoreError
from newsletter.store import migrations

_NAME = re.compile(r"^v(\d{4})_\w+$")
_VERSION = sa.table("schema_version", sa.column("version", sa.Integer))


def available() -> list[tuple[int, Callable[[Connection], None]]]:
    """All migrations shipped with the package, by version."""
    found = []
    for info in pkgutil.iter_modules(migrations.__path__):
        m = _NAME.match(info.name)
        if m:
            module: ModuleType = importlib.import_module(f"{migrations.__name__}.{info.name}")
            found.append((int(m.group(1)), module.upgrade))
    found.sort(key=lambda item: item[0])
    versions = [v for v, _ in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"two migrations share a version number: {versions}")
    return found


def applied_versions(conn: Connection) -> set[int]:
    if not sa.inspect(conn).has_table("schema_version"):
        return set()
    return {int(v) for v in conn.execute(sa.select(_VERSION.c.version)).scalars()}


def current_version(conn: Connection) -> int:
    return max(applied_versions(conn), default=0)


def migrate(engine: Engine) -> int:
    """Apply every shipped migration the database lacks, in order; return the latest version.

    Missing versions are applied even below the newest applied one, so migrations merged
    from parallel branches in any order all reach every database.
    """
    steps = available()
    latest = steps[-1][0] if steps else 0
    with engine.begin() as conn:
        _lock(conn)
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        applied = applied_versions(conn)
        if applied and max(applied) > latest:
            raise StoreError(
                f"database schema version {max(applied)} is newer than this newsletter "
                f"(knows up to {latest}); upgrade the package"
            )
        for number, upgrade in steps:
            if number not in applied:
                upgrade(conn)
                conn.execute(sa.insert(_VERSION).values(version=number))
    return latest


def _lock(conn: Connection) -> None:
    # SQLite already holds its write lock (BEGIN IMMEDIATE); PostgreSQL needs one so that
    # two processes starting together do not both run a migration.
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7412001)")
