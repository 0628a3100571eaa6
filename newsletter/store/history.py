"""What each subscriber was sent (never send a paper twice) and what they thought of it.

What was sent is read from the sent issue rows of the outbox (their picks), and from
``sent_papers``, where sends were recorded before issue rows kept their picks (version 8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsletter import addresses
from newsletter.errors import SubscriberError
from newsletter.library_files import expand
from newsletter.models import Paper, Subscriber
from newsletter.store.library_papers import resolve
from newsletter.store.outbox import UNSENT
from newsletter.store.papers import moved_keys
from newsletter.store.tables import feedback, outbox, outbox_issues, sent_papers


def sent_keys(conn: Connection, email: str, since: date | None = None) -> set[str]:
    """Keys of every paper sent to this subscriber (in issues of ``since`` or later)."""
    return sent_keys_many(conn, [email], since)[email]


def sent_keys_many(
    conn: Connection, emails: Sequence[str], since: date | None = None, waiting: bool = False
) -> dict[str, set[str]]:
    """``sent_keys`` for many subscribers in few queries, keyed by the emails as given.

    ``since`` bounds the read (matching only needs the last days: older papers are no longer
    candidates); ``waiting`` adds the picks of issues enqueued but not sent yet (taken: the
    next issue leaves them out); a paper sent under its title key counts under its arXiv key
    too."""
    statuses = ("sent", *UNSENT) if waiting else ("sent",)
    out: dict[str, set[str]] = {e: set() for e in emails}
    by_address = {addresses.key(e): e for e in emails}
    for chunk in _chunks(list(by_address)):
        query = sa.select(sent_papers.c.email, sent_papers.c.paper_key).where(
            sent_papers.c.email.in_(chunk)
        )
        if since is not None:
            query = query.where(sent_papers.c.issue_date >= since)
        for email, key in conn.execute(query):
            out[by_address[email]].add(key)
        rows = sa.select(outbox.c.recipient, outbox_issues.c.issue).join_from(
            outbox, outbox_issues, outbox_issues.c.row_id == outbox.c.id).where(
            outbox.c.recipient.in_(chunk), outbox.c.status.in_(statuses))
        if since is not None:
            rows = rows.where(outbox.c.issue_id >= since.isoformat())
        for email, issue in conn.execute(rows):
            out[by_address[email]].update(str(p[0]) for p in issue.get("picks", []))
    moved = moved_keys(conn, sorted({k for keys in out.values() for k in keys}))
    for keys in out.values():
        keys.update(moved[k] for k in list(keys) if k in moved)
    return out


def record_feedback(conn: Connection, email: str, key: str, judgment: int, now: datetime) -> None:
    """Store a reader's +1 (more like this) or -1 (less like this); the latest one counts."""
    if judgment not in (1, -1):
        raise SubscriberError(f"{email}: feedback on {key} must be +1 or -1, not {judgment!r}")
    where = (feedback.c.email == addresses.key(email)) & (feedback.c.paper_key == key)
    done = conn.execute(sa.update(feedback).where(where).values(judgment=judgment, at=now))
    if not done.rowcount:
        conn.execute(
            sa.insert(feedback).values(
                email=addresses.key(email), paper_key=key, judgment=judgment, at=now
            )
        )


def forget_feedback(conn: Connection, email: str, key: str) -> bool:
    """Undo a reader's judgment of one paper; False when there was none."""
    where = (feedback.c.email == addresses.key(email)) & (feedback.c.paper_key == key)
    return bool(conn.execute(sa.delete(feedback).where(where)).rowcount)


def feedback_for(conn: Connection, email: str) -> dict[str, int]:
    """This subscriber's judgments: paper key -> +1 or -1."""
    query = sa.select(feedback.c.paper_key, feedback.c.judgment).where(
        feedback.c.email == addresses.key(email)
    )
    return {key: int(judgment) for key, judgment in conn.execute(query)}


def feedback_many(conn: Connection, emails: Sequence[str]) -> dict[str, dict[str, int]]:
    """``feedback_for`` for many subscribers in few queries, keyed by the emails as given."""
    out: dict[str, dict[str, int]] = {e: {} for e in emails}
    by_address = {addresses.key(e): e for e in emails}
    for chunk in _chunks(list(by_address)):
        query = sa.select(feedback.c.email, feedback.c.paper_key, feedback.c.judgment).where(
            feedback.c.email.in_(chunk)
        )
        for email, key, judgment in conn.execute(query):
            out[by_address[email]][key] = int(judgment)
    return out


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def reference_papers(
    conn: Connection, subscriber: Subscriber, judgments: Mapping[str, int]
) -> dict[str, Paper]:
    """The papers the matcher compares against (liked, disliked, "more like these", the
    library), by the key the profile names them with: stored or fetched for a library."""
    keys = [f"arxiv:{p}" for p in subscriber.papers] + expand(subscriber.library) + list(judgments)
    return resolve(conn, keys)
