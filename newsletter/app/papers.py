"""Stored papers as an operator lists them: newest first by publication date, then by when
they were first seen."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.engine import Engine

from newsletter.models import Paper
from newsletter.store.papers import list_papers


def stored_papers(
    engine: Engine, since: datetime | date | None = None, search: str = "",
    limit: int | None = None,
) -> list[Paper]:
    """Papers first seen since ``since`` holding every word of ``search``, newest first."""
    with engine.connect() as conn:
        found = list_papers(conn, since=since, search=search)  # newest first seen first
    found.sort(key=lambda p: p.published or date.min, reverse=True)  # stable: ties keep that
    return found[:limit] if limit else found
