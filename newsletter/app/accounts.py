"""What the subscriber pages do, without HTTP: sign up, confirm, edit, unsubscribe, give feedback.

The web package keeps HTTP (routes, forms, page templates) and calls ``Site`` for the rest.

Every operation takes the time from the injected clock and changes the database in one
transaction, or not at all when its token or input is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from urllib.parse import quote, urlencode

from sqlalchemy.engine import Engine

from newsletter import addresses, channel_names, shortlinks, signed_links
from newsletter.app.background_send import SendNow, SendSoon
from newsletter.app.feedback import OneClick
from newsletter.app.first_picks import Offered, offered
from newsletter.app.issue import candidates, picks_for
from newsletter.app.liked import Liked, liked_papers
from newsletter.app.model_answers import expansions
from newsletter.app.stages import Stages
from newsletter.config import Config
from newsletter.delivery.base import Mailer
from newsletter.delivery.compose import Composer, composer_from_config
from newsletter.errors import NewsletterError, TokenError
from newsletter.match import fields
from newsletter.models import OutgoingEmail, Paper, Pick, Subscriber
from newsletter.profile import ON_WEB, to_data
from newsletter.reader_profile import FormErrors, Posted, stored_profile, validate
from newsletter.render.confirm import ConfirmRenderer
from newsletter.store.history import feedback_for, forget_feedback
from newsletter.store.limits import Window, window_for
from newsletter.store.outbox import (
    CONFIRMATIONS,
    enqueue,
    issue_keys,
    issue_row_by_id,
    suppress,
    suppressed,
    unsuppress,
)
from newsletter.store.papers import count_papers, papers_by_keys
from newsletter.store.profiles import (
    StoredSubscriber,
    from_file,
    get_subscriber,
    same_inbox,
    set_status,
    upsert_subscriber,
)
from newsletter.store.signups import (
    add_signup,
    forget_before,
    get_signup,
    mark_confirmed,
    note_file_reader,
)

__all__ = ["Liked", "Site", "StoredSubscriber", "UsedLink", "kept_by_file"]
CONFIRM = "confirm"
ON_WEB_NAMES = {f.name for f in ON_WEB}
log = logging.getLogger("newsletter.web")


class UsedLink(NewsletterError):
    """A confirmation link that was already used."""


@dataclass
class Site:
    """The subscriber site's state: settings, database, mailer, clock and rate limits."""

    config: Config
    engine: Engine
    mailer: Callable[[], Mailer]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sender: SendSoon = field(init=False)  # sends queued confirmations off the request's thread
    confirmations: ConfirmRenderer = field(init=False)  # the confirmation email's templates
    send_inline: bool = False  # tests: send in the request's thread, to look at the result
    stages: Stages | None = None  # built on first use: the matcher may load a model
    vocabulary: fields.Live = field(init=False)  # the fields topics may name
    _offered: list[tuple[tuple[date, int], list[Offered]]] = field(default_factory=list)

    @property
    def secret(self) -> str:
        return self.config.secrets.get("SECRET_KEY")

    def __post_init__(self) -> None:
        kind = SendNow if self.send_inline else SendSoon
        self.sender = kind(self.engine, self.mailer, self.config.delivery)
        # compiled now, so that a broken confirm.mjml stops the start, not the first sign-up
        n = self.config.newsletter
        self.confirmations = ConfirmRenderer(n, self.config.path(n.templates_dir))
        self.vocabulary = fields.Live(self.config.match.fields)  # a bad file stops the start

    @cached_property
    def composer(self) -> Composer:
        return composer_from_config(self.config)

    @cached_property
    def limiter(self) -> Window:
        """The sign-up limits: in the database on PostgreSQL, where every web process shares
        them; in this process on SQLite."""
        return window_for(self.engine)

    def pipeline(self) -> Stages:
        if self.stages is None:
            self.stages = Stages.build(self.config, self.engine)
        return self.stages

    def url(self, path: str, token: str) -> str:
        base = self.config.newsletter.base_url.rstrip("/")
        return f"{base}/{path}?{urlencode({'token': token}, quote_via=quote)}"

    def signup(self, sub: Subscriber, client: str) -> str:
        """Start a double opt-in; returns what happened, for the log only (never shown)."""
        if channel_names.channel_of(sub.email):  # a team channel's, no one's inbox
            return "a team channel's address, no email sent"
        web = self.config.web
        if not self.limiter.allow(
            f"address:{addresses.limit_key(sub.email)}",
            web.signups_per_address_day,
            timedelta(days=1),
        ):
            return "address limit reached, no email sent"
        now = self.clock()
        ttl = timedelta(hours=web.confirm_hours)
        # A bounced or complained address gets no email, but the page must not tell who
        # bounced: its sign-up does the same work as any other (the same statements, the
        # message composed and stored), only its outbox row is suppressed instead of queued
        # and its sign-up's link, never sent, can never be used.
        with self.engine.begin() as conn:
            blocked = suppressed(conn, [sub.email]).get(addresses.key(sub.email))
            refused = blocked if blocked in ("bounced", "complained") else ""
            forget_before(conn, now - timedelta(hours=web.confirm_hours, days=1))
            nonce = add_signup(conn, sub.email, stored_profile(sub), now)
            email = self._confirmation(sub, nonce, ttl, now)
            # queued, so a relay's refusal is retried, not lost
            enqueue(conn, email, issue_id=f"{CONFIRMATIONS}{nonce}", now=now,
                    suppressed_for=refused)
        self.sender.poke()
        return f"address {refused}, no email sent" if refused else "confirmation queued"

    def _confirmation(
        self, sub: Subscriber, nonce: str, ttl: timedelta, now: datetime
    ) -> OutgoingEmail:
        token = signed_links.sign(
            self.secret, CONFIRM, addresses.key(sub.email), now=now, ttl=ttl, data={"n": nonce}
        )
        message = self.confirmations.render(sub, self.url("confirm", token), ttl)
        return self.composer.compose(
            to=sub.email, subject=message.subject, text=message.text, html=message.html, now=now
        )

    def check_confirm(self, token: str) -> Subscriber:
        """The profile a confirmation link would activate (TokenError or UsedLink otherwise)."""
        claims = signed_links.verify(self.secret, CONFIRM, token, now=self.clock())
        with self.engine.connect() as conn:
            pending = get_signup(conn, claims.data.get("n", ""))
        if pending is None or pending.email != claims.subject:
            raise TokenError("the link does not match any sign-up")
        if pending.confirmed_at is not None:
            raise UsedLink("this confirmation link was already used")
        try:
            return validate(pending.profile)
        except FormErrors:  # the settings changed since (fewer topics allowed, say)
            raise TokenError("this sign-up no longer fits the newsletter's settings: please "
                             "sign up again") from None

    def confirm(self, token: str) -> tuple[Subscriber, bool]:
        """Activate the sign-up behind ``token``, once; returns the reader's profile and whether
        a subscriber file keeps it. Such a reader is subscribed (again) with the file's
        profile, and what they asked for waits for the operator, told at the next sync."""
        asked = self.check_confirm(token)
        claims = signed_links.verify(self.secret, CONFIRM, token, now=self.clock())
        now = self.clock()
        typed = asked.email
        with self.engine.begin() as conn:
            if not mark_confirmed(conn, claims.data["n"], now):
                raise UsedLink("this confirmation link was already used")
            stored = get_subscriber(conn, typed) or same_inbox(conn, typed)
            known = stored.subscriber.email if stored is not None else typed
            if addresses.key(known) != addresses.key(typed):
                # another spelling of a stored reader's inbox: the same reader, not a second
                asked = replace(asked, email=known)
                unsuppress(conn, typed)
            kept = stored is not None and kept_by_file(stored)
            if stored is not None and kept:
                set_status(conn, asked.email, "active", now)
                note_file_reader(conn, asked.email, stored_profile(asked), now)
            else:
                upsert_subscriber(conn, asked, now, status="active")
            unsuppress(conn, asked.email)
        log.info("confirmed %s%s%s", typed, f" as {asked.email} (the same inbox)"
                 if asked.email != typed else "", " (kept in a subscriber file)" if kept else "")
        return (stored.subscriber if stored is not None and kept else asked), kept

    def kept_in_file(self, email: str) -> bool:
        """Whether the operator keeps this address's profile in a subscriber file."""
        stored = self.stored(email)
        return stored is not None and kept_by_file(stored)

    def preview(self, sub: Subscriber) -> list[Pick]:
        """The papers the next issue would hold from what is stored now."""
        stages = self.pipeline()
        with self.engine.connect() as conn:
            pool = candidates(conn, self.clock())
        return picks_for(stages, [sub], pool).get(sub.email, [])

    def who(self, purpose: str, token: str) -> str:
        """The address a ``purpose`` token was signed for."""
        return signed_links.verify(self.secret, purpose, token, now=self.clock()).subject

    def stored(self, email: str) -> StoredSubscriber | None:
        with self.engine.connect() as conn:
            return get_subscriber(conn, email)

    def save_preferences(
        self, current: StoredSubscriber, posted: Posted, paused: bool
    ) -> Subscriber:
        """Replace a web profile with the edited one; ``paused`` stops issues until unticked.
        The fields the form does not show (liked papers, dropped phrases...) are kept."""
        kept = {name: value for name, value in to_data(current.subscriber).items()
                if name not in ON_WEB_NAMES and name != "active"}
        sub = validate(kept | posted.data, posted.refused)
        with self.engine.begin() as conn:
            upsert_subscriber(conn, sub, self.clock(), status="paused" if paused else "active")
        return sub

    def unsubscribe(self, token: str) -> str:
        """Stop every email to the token's address at once; safe to repeat."""
        email = self.who(signed_links.UNSUBSCRIBE, token)
        now = self.clock()
        with self.engine.begin() as conn:
            set_status(conn, email, "unsubscribed", now)
            suppress(conn, email, "unsubscribed", now=now, detail="web one-click")
        log.info("unsubscribed %s", email)
        return email

    def feedback_link(self, token: str) -> tuple[str, str, int, Paper | None]:
        """What a feedback link is about (reader, paper key, +1/-1, the paper); records nothing:
        mail scanners open every link, so only the page's button (a POST) records."""
        if shortlinks.looks_short(token):
            email, key, judgment = self._short_feedback(token)
        else:
            claims = signed_links.verify(
                self.secret, signed_links.FEEDBACK, token, now=self.clock()
            )
            email, key = claims.subject, claims.data.get("paper", "")
            judgment = int(claims.data.get("j", "0"))
        with self.engine.connect() as conn:
            paper = papers_by_keys(conn, [key]).get(key)
        return email, key, judgment, paper

    def _short_feedback(self, text: str) -> tuple[str, str, int]:
        """The reader, paper key and judgment of a short link (see ``shortlinks``)."""
        found = shortlinks.parse(text)
        with self.engine.connect() as conn:
            row = issue_row_by_id(conn, found.row_id)
        keys = issue_keys(row.issue) if row is not None and row.issue else []
        if row is None or found.index >= len(keys):
            raise TokenError("the link is not valid (no such issue)")
        shortlinks.check(self.secret, found, row.email.message_id)
        expires = (row.created_at or self.clock()) + signed_links.FEEDBACK_TTL
        if self.clock() >= expires:
            raise TokenError(f"the link expired on {expires:%Y-%m-%d}")
        return row.recipient, keys[found.index], found.judgment

    def open_feedback(self, token: str) -> tuple[int, Paper | None]:
        """What a feedback link is about (+1/-1 and the paper), noted as opened (see
        ``app.feedback``); records no vote."""
        email, key, judgment, paper = self.feedback_link(token)
        OneClick(self.engine).opened(email, key, judgment, self.clock())
        return judgment, paper

    def feedback(
        self, token: str, judgment: int, by_script: bool = False
    ) -> tuple[bool, Paper | None, str]:
        """Record "more like this" (+1) or "less like this" (-1) for the link's paper, or undo
        it (0); a vote a page's script posted is refused while the reader's links are opened
        in a burst. Returns whether it was recorded, the paper and the reader's preferences
        link (to see and undo it)."""
        email, key, _, paper = self.feedback_link(token)
        votes, now = OneClick(self.engine), self.clock()
        recorded = True
        if by_script:
            recorded = votes.by_script(email, key, judgment, now)
        else:
            votes.by_hand(email, key, judgment, now)
        return recorded, paper, self.preferences_link(email)

    def preferences_link(self, email: str) -> str:
        base = self.config.newsletter.base_url
        key, now = addresses.key(email), self.clock()
        return signed_links.preferences_url(base, self.secret, key, now=now)

    def unsubscribe_link(self, email: str) -> str:
        return self.composer.unsubscribe_url(addresses.key(email), now=self.clock())

    def given_feedback(self, email: str) -> list[tuple[str, int, Paper | None]]:
        """The reader's feedback: (paper key, +1/-1, the paper when it is stored)."""
        with self.engine.connect() as conn:
            judged = feedback_for(conn, email)
            found = papers_by_keys(conn, list(judged))
        return [(key, judgment, found.get(key)) for key, judgment in judged.items()]

    def undo_feedback(self, email: str, key: str) -> None:
        with self.engine.begin() as conn:
            forget_feedback(conn, email, key)

    def offered(self) -> list[Offered]:
        """The papers the sign-up and preferences pages offer to pick (the same while the day
        and the number of stored papers are)."""
        with self.engine.connect() as conn:
            now, stored = self.clock(), count_papers(conn)
        if self._offered and self._offered[0][0] == (now.date(), stored):
            return self._offered[0][1]
        found = offered(self.engine, self.pipeline().matcher, now)
        self._offered[:] = [((now.date(), stored), found)]
        return found

    def liked(self, sub: Subscriber) -> Liked:
        """The reader's liked papers by title where known, and how many are recognised."""
        return liked_papers(self.engine, sub)

    def looked_for(self, sub: Subscriber) -> list[tuple[str, bool]]:
        """The phrases a language model looks for on the reader's behalf, each with whether
        the reader dropped it ([] when the model is off or has not answered yet)."""
        with self.engine.connect() as conn:
            found = expansions(self.config, conn, [sub], dropped=True).get(sub.email)
        gone = {p.casefold() for p in sub.dropped_phrases}
        return [(p, p.casefold() in gone) for p in (found.phrases if found else ())]

    def keep_phrase(self, email: str, phrase: str, keep: bool) -> None:
        """Drop (or bring back) one of the model's phrases from the reader's profile."""
        with self.engine.begin() as conn:
            stored = get_subscriber(conn, email)
            if stored is None:
                return
            sub = stored.subscriber
            rest = [p for p in sub.dropped_phrases if p.casefold() != phrase.casefold()]
            gone = rest if keep else [*rest, phrase]
            upsert_subscriber(conn, replace(sub, dropped_phrases=tuple(gone)), self.clock(),
                              status=stored.status)

    def widened(self, sub: Subscriber) -> dict[str, tuple[tuple[str, ...], int]]:
        """The reader's topics that name a field, with some of its terms and how many."""
        return fields.named(sub.topics, self.vocabulary.current())  # may read the file


def kept_by_file(stored: StoredSubscriber) -> bool:
    """Whether the operator keeps this reader's profile in a subscriber file."""
    return from_file(stored.subscriber)
