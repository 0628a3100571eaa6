"""Version 8: an issue's outbox row holds what the reader gets, not the rendered message.

New columns: ``issue`` (the reader's name and topics as sent, and the picked papers in order
with their scores and reasons) and ``template_version`` (the pinned templates and render
settings, kept in the new ``template_versions`` table). A worker renders such a row when it
sends it. Rows queued before this version keep their stored message and are sent as they are;
the body columns stay (empty for new issue rows), so no row has to be rewritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE outbox ADD COLUMN issue JSON")
    conn.exec_driver_sql("ALTER TABLE outbox ADD COLUMN template_version VARCHAR(64)")
    meta = sa.MetaData()
    sa.Table(
        "template_versions",
        meta,
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("files", sa.JSON, nullable=False),  # template name -> source
        sa.Column("settings", sa.JSON, nullable=False),  # the render settings of that day
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    meta.create_all(conn)
    # ``prune`` looks for old rows by the time of their last change
    conn.exec_driver_sql("CREATE INDEX ix_outbox_updated_at ON outbox (updated_at)")

