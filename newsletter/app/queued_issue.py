"""An issue as the outbox keeps it, and the message rendered from it when it is sent.

Enqueue stores a small snapshot per (reader, issue): the reader's profile (the fields an email
may show, by the profile schema), the picked paper keys in order with their scores and reasons,
and the pinned template version. The worker, ``preview`` of an enqueued issue and the web copy
all render the message from that snapshot here, with the pinned templates and the links signed
as of enqueue time, so the three agree byte for byte but for the Date header and the DKIM
signature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from newsletter import addresses, profile
from newsletter.app.issue import archived_at, issue_links
from newsletter.app.model_answers import labelled
from newsletter.app.stages import Stages
from newsletter.config import Config
from newsletter.delivery.compose import Composer
from newsletter.delivery.message import make_message_id
from newsletter.errors import ConfigError, NewsletterError
from newsletter.models import Issue, IssueLinks, OutgoingEmail, Paper, Pick, Subscriber
from newsletter.render import Renderer
from newsletter.store import pins
from newsletter.store.outbox import OutboxRow, QueuedIssue, issue_date, issue_keys, issue_row
from newsletter.store.papers import moved_keys, papers_by_keys

SHOWN_REASONS = 2  # the card shows the first two reasons; the rest are not kept
EMAILED = tuple(f.name for f in profile.FIELDS if f.emailed)  # kept beside "date" and "picks"


def snapshot(sub: Subscriber, day: date, picks: Sequence[Pick]) -> dict[str, Any]:
    """What the outbox keeps of one reader's issue (see the module's docstring)."""
    data = profile.to_data(sub)
    return {
        "date": day.isoformat(),
        **{name: data[name] for name in EMAILED},
        "picks": [[p.paper.key, round(p.score, 4), list(p.reasons[:SHOWN_REASONS]),
                   *_brought(p)] for p in picks],
    }


def _brought(pick: Pick) -> list[dict[str, Any]]:
    """What brought a pick in and whom it is for (for sections and team issues), when known."""
    kept = {"via": pick.via, "topic": pick.topic, "for": list(pick.members)}
    kept = {k: v for k, v in kept.items() if v}
    return [kept] if kept else []


def _pick(paper: Paper, entry: Sequence[Any]) -> Pick:
    """One snapshot pick: key, score, reasons and, since sections, what brought it in."""
    _, score, reasons, *rest = entry
    more = rest[0] if rest and isinstance(rest[0], dict) else {}
    return Pick(paper, float(score), tuple(reasons), via=str(more.get("via", "")),
                topic=str(more.get("topic", "")), members=tuple(more.get("for", ())))


def queued(stages: Stages, sub: Subscriber, day: date, picks: Sequence[Pick],
           version: str) -> QueuedIssue:
    """The outbox row of one reader's issue: the envelope and the snapshot."""
    sender = stages.config.newsletter.sender
    return QueuedIssue(
        issue_id=day.isoformat(),
        message_id=make_message_id(sender),
        sender=sender,
        to=addresses.display(sub.name, sub.email),
        issue=snapshot(sub, day, picks),
        template_version=version,
    )


def found_papers(
    conn: Connection, keys: Sequence[str], config: Config | None = None
) -> dict[str, Paper]:
    """The stored papers of ``keys``, also under a title key whose paper has since been
    re-keyed by its arXiv id (rows keep the keys they were enqueued with); given ``config``
    with ``[llm]`` set, with the labels and one-line summary a language model gave them."""
    papers = papers_by_keys(conn, keys)
    moved = moved_keys(conn, [k for k in keys if k not in papers])
    now_at = papers_by_keys(conn, sorted(set(moved.values()))) if moved else {}
    papers.update((old, now_at[new]) for old, new in moved.items() if new in now_at)
    if config is not None and papers:
        found = list(papers)
        papers = dict(zip(found, labelled(config, conn, [papers[k] for k in found]), strict=True))
    return papers


def restore(issue: Mapping[str, Any], papers: Mapping[str, Paper]) -> Issue | str:
    """The ``Issue`` a snapshot describes, or why it cannot be rebuilt; a field the snapshot
    does not hold (one an email never shows, or one an older version did not keep: those kept
    only email, name and topics) is the profile's default."""
    missing = [k for k in issue_keys(dict(issue)) if k not in papers]
    if missing:
        return f"paper {missing[0]} is no longer stored"
    return Issue(reader(issue), issue_date(dict(issue)), tuple(stored_picks(issue, papers)))


def reader(issue: Mapping[str, Any]) -> Subscriber:
    """The reader's profile as a snapshot keeps it (the fields it does not hold: defaults)."""
    return profile.from_stored({name: issue[name] for name in EMAILED if name in issue}, "")


def stored_picks(issue: Mapping[str, Any], papers: Mapping[str, Paper]) -> list[Pick]:
    """A snapshot's picks in order, those whose paper is in ``papers``."""
    return [_pick(papers[str(entry[0])], entry) for entry in issue.get("picks", [])
            if str(entry[0]) in papers]


class Builder:
    """Renders claimed issue rows at send time; keeps one renderer per pinned version."""

    def __init__(
        self, engine: Engine, composer: Composer, config: Config | None = None
    ) -> None:
        """``config``: the settings whose ``[llm]`` says whether papers show a language
        model's one-line summary (none when not given)."""
        self.engine, self.composer, self.config = engine, composer, config
        self._renderers: dict[str, Renderer | str] = {}

    def __call__(
        self, rows: Sequence[OutboxRow], now: datetime | None = None
    ) -> dict[int, OutgoingEmail | str]:
        """Each row's message dated ``now`` (the real time when not given), or why not.

        Without the signing key nothing can be rendered: that stops the sender, in one line.
        """
        if not self.composer.secret:
            raise ConfigError("environment variable NEWSLETTER_SECRET_KEY is not set: it signs "
                              "the links of each issue the sender renders")
        keys = sorted({k for r in rows if r.issue for k in issue_keys(r.issue)})
        with self.engine.connect() as conn:
            papers = found_papers(conn, keys, self.config)
            for version in {r.template_version or "" for r in rows}:
                if version not in self._renderers:
                    self._renderers[version] = self._load(conn, version)
        now = now or datetime.now(UTC)
        return {row.id: self.message(row, papers, now) for row in rows}

    def message(
        self, row: OutboxRow, papers: Mapping[str, Paper], now: datetime
    ) -> OutgoingEmail | str:
        """The message of one issue row dated ``now``, or one line saying why not."""
        made = self.issue(row, papers)
        if isinstance(made, str):
            return made
        renderer, issue, links = made
        try:  # this reader's data may break the pinned templates: this row fails, not the batch
            rendered = renderer.render(issue, links)
            if rendered is None:
                return "the pinned templates skip an issue with no papers"
            return self.composer.compose(
                to=row.email.to, subject=rendered.subject, text=rendered.text,
                html=rendered.html, now=now, unsubscribe_url=links.unsubscribe,
                message_id=row.email.message_id, sender=row.email.sender,
                extra_headers=archived_at(links),
            )
        except NewsletterError as exc:
            return str(exc)

    def issue(
        self, row: OutboxRow, papers: Mapping[str, Paper]
    ) -> tuple[Renderer, Issue, IssueLinks] | str:
        """The pinned renderer, the issue and its links (signed as of enqueue time)."""
        version = row.template_version or ""
        renderer = self._renderers.get(version)
        if renderer is None:  # a web copy, read outside a send batch: kept once it compiles
            with self.engine.connect() as conn:
                renderer = self._load(conn, version)
            if not isinstance(renderer, str):
                self._renderers[version] = renderer
        if isinstance(renderer, str):
            return renderer
        if not row.issue:
            return "its snapshot of what to send is missing"
        issue = restore(row.issue, papers)
        if isinstance(issue, str):
            return issue
        signed_at = row.created_at or datetime.now(UTC)
        links = issue_links(self.composer, issue.subscriber.email, issue.picks, signed_at,
                            issue.issue_date, (row.id, row.email.message_id))
        return renderer, issue, links

    def _load(self, conn: Connection, version: str) -> Renderer | str:
        pin = pins.load(conn, version) if version else None
        if pin is None:
            return f"template version {version or '(none)'} is gone from the database"
        try:
            return Renderer.pinned(pin.files, pin.settings)
        except Exception as exc:  # a pinned version that no longer compiles: say why, once
            return f"template version {version} does not render: {exc}"


def enqueued_message(
    engine: Engine, composer: Composer, email: str, day: date, now: datetime,
    config: Config | None = None,
) -> OutgoingEmail | str | None:
    """The message of ``email``'s issue of ``day`` as the worker sends it, dated ``now``, when
    that issue is in the outbox (None when it is not; a string when it cannot be rendered)."""
    with engine.connect() as conn:
        row = issue_row(conn, email, day.isoformat())
    if row is None:
        return None
    return Builder(engine, composer, config)([row], now)[row.id]


def enqueued_issue(
    engine: Engine, composer: Composer, email: str, day: date, config: Config | None = None
) -> tuple[Issue, IssueLinks] | str | None:
    """``email``'s issue of ``day`` as its outbox row keeps it (the papers in order, their
    reasons, the links signed at enqueue time), for a preview to render with the templates of
    the moment; None when that issue was not enqueued, a string when it cannot be rebuilt.
    ``config``: as for ``Builder``, whether papers show a language model's labels."""
    with engine.connect() as conn:
        row = issue_row(conn, email, day.isoformat())
        if row is None or not row.issue:
            return None
        papers = found_papers(conn, issue_keys(row.issue), config)
    issue = restore(row.issue, papers)
    if isinstance(issue, str):
        return issue
    signed_at = row.created_at or datetime.now(UTC)
    links = issue_links(composer, issue.subscriber.email, issue.picks, signed_at,
                        issue.issue_date, (row.id, row.email.message_id))
    return issue, links
