"""The issue a reader gets: candidate papers, their history, the picks, the signed links and
the rendered message. ``match``, ``preview``, the web pages and enqueue all compose it here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.engine import Connection, Engine

from newsletter import addresses, shortlinks, signed_links
from newsletter.app.model_doors import ModelRun, pick_with_model
from newsletter.app.readers import find_subscriber
from newsletter.app.stages import Stages
from newsletter.app.teams import team_picks
from newsletter.config import Config
from newsletter.delivery.compose import Composer
from newsletter.match import Matcher
from newsletter.models import Issue, IssueLinks, OutgoingEmail, Paper, Pick, Subscriber
from newsletter.render import RenderedEmail
from newsletter.sources.reading import load_papers
from newsletter.store.history import feedback_many, reference_papers, sent_keys_many
from newsletter.store.papers import list_papers
from newsletter.store.profiles import get_subscriber

CANDIDATE_DAYS = 7  # an issue draws from the papers first seen in the last week
log = logging.getLogger(__name__)
_said: set[tuple[str, str]] = set()  # (team, member) no longer stored, said once


@dataclass(frozen=True)
class History:
    """What the matcher needs besides the papers, for a batch of readers (and, for a team's
    profile, its members' stored profiles)."""

    sent: dict[str, set[str]]
    judged: dict[str, dict[str, int]]
    references: dict[str, Paper] | None
    members: dict[str, tuple[Subscriber, ...]] = field(default_factory=dict)


def candidates(
    conn: Connection, now: datetime, days: int = CANDIDATE_DAYS, past: bool = False
) -> list[Paper]:
    """Papers first seen in the last ``days`` days: what a new issue may draw from; with
    ``past``, none first seen after ``now`` (what an issue of an earlier day drew from)."""
    return list_papers(conn, since=now - timedelta(days=days), until=now if past else None)


def history(conn: Connection, subs: Sequence[Subscriber], now: datetime | None = None) -> History:
    """Sent keys, feedback and liked/judged reference papers of ``subs``, in batched queries.

    Papers of an issue enqueued but not sent yet count as sent: the next issue leaves them out.
    Given ``now``, only issues that can hold today's candidates are read (the last week's).
    """
    emails = [s.email for s in subs]
    since = (now - timedelta(days=CANDIDATE_DAYS + 1)).date() if now is not None else None
    sent = sent_keys_many(conn, emails, since, waiting=True)
    judged = feedback_many(conn, emails)
    refs: dict[str, Paper] = {}
    members = {s.email: team_members(conn, s) for s in subs if s.members}
    for s in [*subs, *(m for found in members.values() for m in found)]:
        if s.papers or s.library or judged.get(s.email):
            refs |= reference_papers(conn, s, judged.get(s.email, {}))
    return History(sent, judged, refs or None, members)


def team_members(conn: Connection, team: Subscriber) -> tuple[Subscriber, ...]:
    """The stored profiles of a team's members; one no longer stored, or who unsubscribed,
    is left out (said once): a team's issue never names a reader who left."""
    found = []
    for address in team.members:
        stored = get_subscriber(conn, address)
        if stored is None or stored.status == "unsubscribed":
            if (team.email, address) not in _said:
                _said.add((team.email, address))
                level, why = ((logging.WARNING, f"no subscriber {address} is stored")
                              if stored is None else (logging.INFO, f"{address} unsubscribed"))
                log.log(level, "%s: field 'members': %s; the team's issue leaves them out",
                        team.origin or team.email, why)
            continue
        found.append(stored.subscriber)
    return tuple(found)


@dataclass(frozen=True)
class Model:
    """What an issue may take from the language model: kept answers in ``engine`` (read with
    ``[llm]`` set), and, given a ``run``, answers asked now (phrases, the rerank)."""

    config: Config
    engine: Engine
    run: ModelRun | None = None


def pick(
    matcher: Matcher,
    subs: Sequence[Subscriber],
    papers: Sequence[Paper],
    past: History | None = None,
    model: Model | None = None,
) -> dict[str, list[Pick]]:
    """Each reader's picks; ``past`` (their history) is left out for a reader not yet stored;
    ``model`` adds what the language model gave (see ``model_doors``)."""
    sent = dict(past.sent) if past is not None else None
    judged = dict(past.judged) if past is not None else None
    refs = past.references if past is not None else None

    def batch(readers: Sequence[Subscriber]) -> dict[str, list[Pick]]:
        if model is not None and model.config.llm.enabled:
            return pick_with_model(model.config, model.engine, model.run, matcher, readers,
                                   papers, (sent, judged, refs))
        return matcher.match_many(readers, papers, sent, judged, refs)

    if not any(s.members for s in subs):
        return batch(subs)
    return team_picks(subs, past.members if past is not None else {}, batch, sent, judged)


def picks_for(
    stages: Stages, subs: Sequence[Subscriber], papers: Sequence[Paper]
) -> dict[str, list[Pick]]:
    """Each subscriber's picks, with their sent history and feedback taken into account, and
    what the language model gives when ``[llm]`` is set (asked now where nothing is kept)."""
    with stages.engine.connect() as conn:
        past = history(conn, subs)
    run = ModelRun.start(stages.config, stages.engine)
    picks = pick(stages.matcher, subs, papers, past, Model(stages.config, stages.engine, run))
    if run is not None:
        run.record()
    return picks


def issue_links(
    composer: Composer, email: str, picks: Sequence[Pick], now: datetime,
    issue_date: date | None = None, row: tuple[int, str] | None = None,
) -> IssueLinks:
    """The signed unsubscribe, preferences, feedback and read-only archive links of one issue
    (the issue id is ``issue_date``'s ISO date; no web copy without it). Feedback links are
    short codes naming the outbox row when the issue has one (``row``: id, Message-ID)."""
    base, secret, key = composer.newsletter.base_url, composer.secret, addresses.key(email)

    def feedback(judgment: int) -> dict[str, str]:
        if row is not None:
            return {p.paper.key: shortlinks.url(base, secret, row[0], n, judgment, row[1])
                    for n, p in enumerate(picks)}
        return {
            p.paper.key: signed_links.feedback_url(
                base, secret, key, p.paper.key, judgment, now=now
            )
            for p in picks
        }

    return IssueLinks(
        unsubscribe=composer.unsubscribe_url(email, now=now),
        preferences=signed_links.preferences_url(base, secret, key, now=now),
        more_like=feedback(1),
        less_like=feedback(-1),
        archive=signed_links.archive_url(base, secret, key, now=now),
        web_copy=signed_links.web_copy_url(base, secret, key, issue_date.isoformat(), now=now)
        if issue_date else "",
    )


def archived_at(links: IssueLinks) -> tuple[tuple[str, str], ...]:
    """The RFC 5064 ``Archived-At`` header pointing to the issue's web copy, when it has one."""
    return (("Archived-At", f"<{links.web_copy}>"),) if links.web_copy else ()


def compose(
    stages: Stages, sub: Subscriber, issue_date: date, picks: Sequence[Pick], now: datetime
) -> tuple[Issue, RenderedEmail | None, OutgoingEmail | None]:
    """Render one subscriber's issue and wrap it into a message (None on a skipped quiet day)."""
    issue = Issue(sub, issue_date, tuple(picks))
    links = issue_links(stages.composer, sub.email, picks, now, issue_date)
    rendered = stages.renderer.render(issue, links)
    if rendered is None:
        return issue, None, None
    message = stages.composer.compose(
        to=addresses.display(sub.name, sub.email),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        now=now,
        unsubscribe_url=links.unsubscribe,
        extra_headers=archived_at(links),
    )
    return issue, rendered, message


def reader_issue(
    stages: Stages, sub: Subscriber, issue_date: date, papers: Sequence[Paper] | None = None
) -> tuple[Issue, IssueLinks]:
    """Read-only: the issue ``sub`` would get on ``issue_date`` and its signed links.

    Papers are ``papers`` when given, else the stored candidates of that day; nothing is
    recorded.
    """
    if papers is None:  # as a run would draw them now, or at the end of an earlier day
        end = min(datetime.now(UTC), datetime.combine(issue_date, time.max, UTC))
        with stages.engine.connect() as conn:
            papers = candidates(conn, end, past=end.date() < datetime.now(UTC).date())
    picks = picks_for(stages, [sub], papers)[sub.email]
    links = issue_links(stages.composer, sub.email, picks, datetime.now(UTC), issue_date)
    return Issue(sub, issue_date, tuple(picks)), links


def preview_issue(
    stages: Stages, ref: str, issue_date: date, sources: Sequence[str] = ()
) -> tuple[Issue, IssueLinks]:
    """The issue of reader ``ref`` (a file or an address) on ``issue_date``, read-only.

    Papers come from ``sources`` (pages or files, read now) when given, else from the store.
    """
    sub = find_subscriber(stages.config, stages.engine, ref)
    papers = load_papers(list(sources), stages.config, issue_date) if sources else None
    return reader_issue(stages, sub, issue_date, papers)
