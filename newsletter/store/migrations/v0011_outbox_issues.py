"""Version 11: issue snapshots move out of the outbox into ``outbox_issues``, compressed.

Every status change of a row (queued, sending, sent) writes a new copy of the whole row, so
a snapshot kept in the outbox was stored three times per issue; beside it, once. Snapshots
are compact JSON, zlib-compressed. Existing rows are moved in batches and the column dropped;
a row is an issue row when it has a ``template_version``, as before.

On PostgreSQL the dropped column's data stays on disk until the outbox is rewritten (``VACUUM
FULL outbox``, once, at a quiet time); SQLite rewrites the table here and shrinks the file at
the next ``VACUUM``.
"""

from __future__ import annotations

import json
import zlib

import sqlalchemy as sa
from sqlalchemy.engine import Connection

BATCH = 1000
_OLD = sa.text("SELECT id, issue FROM outbox WHERE issue IS NOT NULL AND id > :last "
               "ORDER BY id LIMIT :n")


def upgrade(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table("outbox", meta, sa.Column("id", sa.Integer, primary_key=True))
    issues = sa.Table(
        "outbox_issues",
        meta,
        sa.Column("row_id", sa.Integer, sa.ForeignKey("outbox.id", ondelete="CASCADE"),
                  primary_key=True, autoincrement=False),
        sa.Column("issue", sa.LargeBinary, nullable=False),
    )
    issues.create(conn)
    last = 0
    while True:
        rows = conn.execute(_OLD, {"last": last, "n": BATCH}).all()
        if not rows:
            break
        moved = [{"row_id": i, "issue": _pack(doc)} for i, doc in rows]
        if moved := [m for m in moved if m["issue"] is not None]:  # a JSON null moves as none
            conn.execute(sa.insert(issues), moved)
        last = rows[-1][0]
    conn.exec_driver_sql("ALTER TABLE outbox DROP COLUMN issue")


def _pack(doc: object) -> bytes | None:
    value = json.loads(doc) if isinstance(doc, str | bytes) else doc
    if value is None:
        return None
    return zlib.compress(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
