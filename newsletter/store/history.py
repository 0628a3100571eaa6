"""What each subscriber was sent (never send a paper twice) and what they thought of it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsletter import addresses
from newsletter.errors import SubscriberError
from newsletter.models import Paper, Subscriber
from newsletter.store.library import resolve
from newsletter.store.tables import feedback, sent_papers


def sent_keys(conn: Connection, email: str) -> set[str]:
    """Keys of every paper already sent to this subscriber, on any day."""
    query = sa.select(sent_papers.c.paper_key).where(sent_papers.c.email == addresses.key(email))
    return set(conn.execute(query).scalars())


def sent_keys_many(conn: Connection, emails: Sequence[str]) -> dict[str, set[str]]:
    """``sent_keys`` for many subscribers in few queries, keyed by the emails as given."""
    out: dict[str, set[str]] = {e: set() for e in emails}
    by_address = {addresses.key(e): e for e in emails}
    for chunk in _chunks(list(by_address)):
        query = sa.select(sent_papers.c.email, sent_papers.c.paper_key).where(
            sent_papers.c.email.in_(chunk)
        )
        for email, key in conn.execute(query):
            out[by_address[email]].add(key)
    return out


def record_sent(
    conn: Connection, email: str, keys: Iterable[str], issue_date: date, now: datetime
) -> int:
    """Remember papers as sent (keys already recorded are skipped); returns how many are new."""
    return record_sent_many(conn, [(email, keys, issue_date)], now)


def record_sent_many(
    conn: Connection, sends: Sequence[tuple[str, Iterable[str], date]], now: datetime
) -> int:
    """``record_sent`` for many (email, paper keys, issue date) in two queries; how many new."""
    known = sent_keys_many(conn, list(dict.fromkeys(addresses.key(e) for e, _, _ in sends)))
    rows: list[dict[str, object]] = []
    for email, keys, issue_date in sends:
        seen = known[addresses.key(email)]
        for key in dict.fromkeys(keys):
            if key not in seen:
                seen.add(key)
                rows.append({"email": addresses.key(email), "paper_key": key,
                             "issue_date": issue_date, "sent_at": now})
    if rows:
        conn.execute(sa.insert(sent_papers), rows)
    return len(rows)


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
    keys = [f"arxiv:{p}" for p in subscriber.papers] + list(subscriber.library) + list(judgments)
    return resolve(conn, keys)
