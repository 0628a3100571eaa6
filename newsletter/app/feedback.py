"""One-click feedback for a person, none for a machine.

Opening a feedback link records nothing (mail scanners open every link, GET and HEAD); the
page it opens posts the vote by itself from a script, and a person without scripts presses its
button. A scanner that runs scripts opens many links of an issue within seconds, which a person
never does: while the reader's links are opened in such a burst, a script's vote is refused,
and the votes scripts recorded during the burst are taken back. A pressed button always counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from newsletter.store import link_opens
from newsletter.store.history import feedback_for, forget_feedback, record_feedback

BURST = timedelta(seconds=15)  # opens this close together are one burst
BURST_LINKS = 3  # distinct links of one reader opened within BURST: a machine


def machine_like(opened: list[link_opens.Opened]) -> bool:
    """Whether these opens (one reader's, within ``BURST``) look like a scanner's: several
    distinct links, or both "more" and "less" of one paper."""
    links = {(o.paper_key, o.judgment) for o in opened if o.kind == link_opens.OPEN}
    both = {k for k, j in links if j > 0} & {k for k, j in links if j < 0}
    return len(links) >= BURST_LINKS or bool(both)


class OneClick:
    """Link opens and script votes of the subscriber site, on one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def opened(self, email: str, key: str, judgment: int, now: datetime) -> bool:
        """Note that a feedback link was opened; True when the reader's opens are now a burst
        (the votes scripts recorded during it are then taken back)."""
        with self.engine.begin() as conn:
            link_opens.note(conn, email, key, judgment, now)
            recent = link_opens.since(conn, email, now - BURST)
            if not machine_like(recent):
                return False
            votes = [o for o in recent if o.kind == link_opens.VOTE]
            for vote in votes:  # newest first, so each vote's ``before`` is restored in turn
                if vote.before:
                    record_feedback(conn, email, vote.paper_key, vote.before, now)
                else:
                    forget_feedback(conn, email, vote.paper_key)
            link_opens.drop(conn, [v.id for v in votes])
        return True

    def by_script(self, email: str, key: str, judgment: int, now: datetime) -> bool:
        """Record a vote a page's script posted, unless the reader's links are being opened in
        a burst; True when it was recorded."""
        with self.engine.begin() as conn:
            if machine_like(link_opens.since(conn, email, now - BURST)):
                return False
            before = feedback_for(conn, email).get(key, 0)
            record_feedback(conn, email, key, judgment, now)
            link_opens.note(conn, email, key, judgment, now, link_opens.VOTE, before)
        return True

    def by_hand(self, email: str, key: str, judgment: int, now: datetime) -> None:
        """Record a vote a person gave by pressing the page's button (0: undo)."""
        with self.engine.begin() as conn:
            if judgment:
                record_feedback(conn, email, key, judgment, now)
            else:
                forget_feedback(conn, email, key)
