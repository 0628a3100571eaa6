"""The migrations build exactly the schema that ``store/tables.py`` declares.

Two fresh databases of one kind: one built step by step by the migrations, one by
``metadata.create_all``. Both are read back with SQLAlchemy's inspector, so each column type is
compared as that database reports it (``DateTime(timezone=True)`` is ``TIMESTAMP WITH TIME
ZONE`` on PostgreSQL and ``DATETIME`` on SQLite on both sides), and every difference is named.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsletter.store import open_engine
from newsletter.store.tables import metadata

# The migrator's own bookkeeping (store/migrate.py), not part of the live schema.
OWN_TABLES = {"schema_version"}

Shape = dict[str, dict[str, Any]]


def shape(engine: Engine) -> Shape:
    """Every table's columns, keys, indexes and constraints, as the database reports them."""
    inspector = sa.inspect(engine)
    return {
        name: _table(inspector, engine.dialect, name)
        for name in inspector.get_table_names()
        if name not in OWN_TABLES
    }


def _table(inspector: sa.Inspector, dialect: sa.Dialect, name: str) -> dict[str, Any]:
    pk = inspector.get_pk_constraint(name)
    return {
        "columns": {c["name"]: _column(c, dialect) for c in inspector.get_columns(name)},
        "primary key": (pk.get("name"), tuple(pk["constrained_columns"])),
        "index": {
            (i["name"], tuple(i["column_names"]), bool(i["unique"]))
            for i in inspector.get_indexes(name)
            if not i.get("duplicates_constraint")  # PostgreSQL: a unique constraint's index
        },
        "unique constraint": {
            (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(name)
        },
        "foreign key": {
            (
                f["name"],
                tuple(f["constrained_columns"]),
                f["referred_table"],
                tuple(f["referred_columns"]),
                tuple(sorted((f.get("options") or {}).items())),
            )
            for f in inspector.get_foreign_keys(name)
        },
        "check constraint": {
            (c["name"], c["sqltext"]) for c in inspector.get_check_constraints(name)
        },
    }


def _column(column: Any, dialect: sa.Dialect) -> dict[str, Any]:
    return {
        "type": column["type"].compile(dialect=dialect),
        "nullable": column["nullable"],
        "default": column["default"],
        "autoincrement": column.get("autoincrement"),
    }


def differences(migrated: Shape, declared: Shape) -> list[str]:
    """One line per way the migrated database differs from the declared one."""
    lines = [f"table {t}: only in the migrated database" for t in migrated.keys() - declared]
    lines += [f"table {t}: only in tables.py" for t in declared.keys() - migrated]
    for table in sorted(migrated.keys() & declared.keys()):
        lines += _table_differences(table, migrated[table], declared[table])
    return lines


def _table_differences(table: str, migrated: dict[str, Any], declared: dict[str, Any]) -> list[str]:
    lines = []
    got, want = migrated["columns"], declared["columns"]
    lines += [f"{table}.{c}: column only in the migrated database" for c in got.keys() - want]
    lines += [f"{table}.{c}: column only in tables.py" for c in want.keys() - got]
    for column in sorted(got.keys() & want.keys()):
        for attribute, value in got[column].items():
            if value != want[column][attribute]:
                lines.append(
                    f"{table}.{column}: {attribute} {value!r} migrated, "
                    f"{want[column][attribute]!r} in tables.py"
                )
    if migrated["primary key"] != declared["primary key"]:
        lines.append(
            f"{table}: primary key {migrated['primary key']} migrated, "
            f"{declared['primary key']} in tables.py"
        )
    for what in ("index", "unique constraint", "foreign key", "check constraint"):
        got_set, want_set = migrated[what], declared[what]
        lines += [f"{table}: {what} {x} only in the migrated database" for x in got_set - want_set]
        lines += [f"{table}: {what} {x} only in tables.py" for x in want_set - got_set]
    return sorted(lines)


@pytest.fixture
def migrated(database_url: str) -> Iterator[Engine]:
    engine = open_engine(database_url)  # runs every migration on the empty database
    yield engine
    engine.dispose()


@pytest.fixture
def declared(second_database_url: str) -> Iterator[Engine]:
    engine = open_engine(second_database_url, upgrade=False)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_migrations_build_the_schema_tables_py_declares(migrated: Engine, declared: Engine) -> None:
    found = differences(shape(migrated), shape(declared))
    assert not found, "\n".join(["the migrated database differs from tables.py:", *found])
    assert set(shape(migrated)) == set(metadata.tables)  # every table was compared


def _retype(meta: sa.MetaData) -> None:
    meta.tables["papers"].c.arxiv_id.type = sa.String(64)


def _nullable(meta: sa.MetaData) -> None:
    meta.tables["papers"].c.upvotes.nullable = False


def _default(meta: sa.MetaData) -> None:
    meta.tables["subscribers"].c.status.server_default = sa.DefaultClause("paused")


def _no_index(meta: sa.MetaData) -> None:
    table = meta.tables["outbox"]
    table.indexes.remove(next(i for i in table.indexes if i.name == "ix_outbox_due"))


def _no_unique(meta: sa.MetaData) -> None:
    table = meta.tables["sent_papers"]
    table.constraints.remove(
        next(c for c in table.constraints if isinstance(c, sa.UniqueConstraint))
    )


def _no_cascade(meta: sa.MetaData) -> None:
    next(iter(meta.tables["outbox_issues"].foreign_key_constraints)).ondelete = None


def _extra_column(meta: sa.MetaData) -> None:
    meta.tables["leases"].append_column(sa.Column("note", sa.Text))


def _primary_key(meta: sa.MetaData) -> None:
    with warnings.catch_warnings():  # that the columns said otherwise: the drift wanted
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        meta.tables["embeddings"].append_constraint(sa.PrimaryKeyConstraint("key"))


DRIFTS = {
    _retype: "papers.arxiv_id: type 'VARCHAR(64)' migrated, 'VARCHAR(32)' in tables.py",
    _nullable: "papers.upvotes: nullable False migrated, True in tables.py",
    _default: "subscribers.status: default \"'paused'\" migrated, \"'active'\" in tables.py",
    _no_index: "outbox: index ('ix_outbox_due', ('status', 'next_attempt_at'), False) only in "
    "tables.py",
    _no_unique: "sent_papers: unique constraint ('uq_sent_papers_email_key', ('email', "
    "'paper_key')) only in tables.py",
    _no_cascade: "outbox_issues: foreign key (None, ('row_id',), 'outbox', ('id',), ()) only in "
    "the migrated database\noutbox_issues: foreign key (None, ('row_id',), 'outbox', ('id',), "
    "(('ondelete', 'CASCADE'),)) only in tables.py",
    _extra_column: "leases.note: column only in the migrated database",
    _primary_key: "embeddings: primary key (None, ('key',)) migrated, (None, ('key', 'model')) "
    "in tables.py",
}


@pytest.mark.parametrize("drift", DRIFTS, ids=lambda drift: drift.__name__.strip("_"))
def test_the_comparison_names_a_drift(drift: Any, tmp_path: Path) -> None:
    """A schema that drifts from tables.py in one way is told apart, in one line naming it."""
    declared = sa.create_engine(f"sqlite:///{tmp_path / 'declared.db'}")
    metadata.create_all(declared)
    drifted = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(drifted)
    drift(drifted)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'drifted.db'}")
    drifted.create_all(engine)
    found = differences(shape(engine), shape(declared))
    engine.dispose()
    declared.dispose()
    assert found == sorted(DRIFTS[drift].splitlines())  # a changed key reads as one less, one more
