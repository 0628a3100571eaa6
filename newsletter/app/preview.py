"""Previews: what a reader would get, composed as a run would (matching, signed links) and
rendered, written as ``.html``, ``.txt`` and ``.eml`` files or rendered on demand for the local
preview page; an issue already in the outbox is rendered from its row, as it will be sent.
Nothing is queued, sent or marked as sent.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from newsletter import channel_names, signed_links
from newsletter.app import issue
from newsletter.app.queued_issue import enqueued_issue, enqueued_message
from newsletter.app.readers import find_subscriber
from newsletter.app.stages import Stages
from newsletter.config import Config, Secrets
from newsletter.delivery.compose import composer_from_config
from newsletter.errors import NewsletterError, SubscriberError
from newsletter.models import Issue, IssueLinks
from newsletter.render import RenderedEmail, Renderer
from newsletter.schedule import local_now
from newsletter.store.profiles import active_subscribers
from newsletter.subscriber_files import load_dir

# One reader's issue of a day, or one line saying there is none (a past day with no issue).
IssueMaker = Callable[[str, date], tuple[Issue, IssueLinks] | str]
MimeMaker = Callable[[Issue, RenderedEmail, IssueLinks], bytes]

__all__ = ["IssueMaker", "PreviewIssues", "RenderedEmail"]


def file_stem(email: str, day: date) -> str:
    """``ada@example.org-2026-11-23``: the address kept readable, anything path-like replaced."""
    safe = re.sub(r"[^A-Za-z0-9@._+-]", "_", email).strip(".") or "subscriber"
    return f"{safe}-{day.isoformat()}"


def preview_renderer(config: Config) -> Renderer:
    """The renderer of the newsletter's templates as they are on disk now."""
    return Renderer(config.newsletter, config.email, config.path(config.newsletter.templates_dir))


def with_signing_key(config: Config, env: Mapping[str, str]) -> Config | None:
    """The config with a throwaway signing key when NEWSLETTER_SECRET_KEY is not set (None when
    it is): a local preview needs no secret, and its links (which the live site would refuse)
    say so."""
    if "SECRET_KEY" in config.secrets:
        return None
    throwaway = signed_links.PREVIEW_KEY_PREFIX + secrets.token_urlsafe(24)
    return replace(config, secrets=Secrets(dict(env) | {"NEWSLETTER_SECRET_KEY": throwaway}))


def issue_maker(
    config: Config, engine: Engine, sources: Sequence[str],
    on_stages: Callable[[Stages], Stages] = lambda stages: stages,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> IssueMaker:
    """One reader's issue for a day: the one in the outbox when it was enqueued (the papers,
    order and reasons sent), none for an earlier day that has no issue, else composed as a run
    would (from ``sources`` when given). The stages are built on first use and kept
    (``on_stages`` sees them first), so a preview server loads the model once."""
    built: list[Stages] = []

    def make(subscriber: str, day: date) -> tuple[Issue, IssueLinks] | str:
        if not built:
            built.append(on_stages(Stages.build(config, engine)))
        stages = built[0]
        if sources:
            return issue.preview_issue(stages, subscriber, day, sources)
        sub = find_subscriber(config, engine, subscriber)
        kept = enqueued_issue(engine, stages.composer, sub.email, day, config)
        if isinstance(kept, str):
            raise NewsletterError(f"{sub.email}: the issue of {day} is enqueued but {kept}")
        if kept is not None:
            return kept
        if day < local_now(sub, clock()).date():
            return (f"No issue for {sub.email} on {day}: none was enqueued or sent for that "
                    "day ('newsletter status' tells why)")
        return issue.reader_issue(stages, sub, day)

    return make


def subscriber_emails(config: Config, engine: Engine) -> list[str]:
    """Everyone the page can show: the subscribers folder and the active stored profiles."""
    folder = config.path(config.newsletter.subscribers_dir)
    emails = {s.email for s in load_dir(folder)} if folder.is_dir() else set()
    with engine.connect() as conn:
        emails |= {s.email for s in active_subscribers(conn)}
    return sorted(emails)


def mime_maker(config: Config, now: Callable[[], datetime]) -> MimeMaker:
    """Build the message exactly as delivery would (headers, list headers, DKIM when set)."""
    composer = composer_from_config(config)

    def build(issue: Issue, rendered: RenderedEmail, links: IssueLinks) -> bytes:
        sub = issue.subscriber
        message = composer.compose(
            to=f"{sub.name} <{sub.email}>" if sub.name else sub.email,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            now=now(),
            unsubscribe_url=links.unsubscribe,
        )
        return message.raw or b""

    return build


def write_preview(
    renderer: Renderer, issue: Issue, links: IssueLinks, out_dir: Path, to_mime: MimeMaker
) -> list[Path]:
    """Write the HTML, text and full MIME message; [] on a quiet day set to skip."""
    rendered = renderer.render(issue, links)
    if rendered is None:
        return []
    stem = file_stem(issue.subscriber.email, issue.issue_date)
    return write_all(out_dir, {
        f"{stem}.html": rendered.html.encode("utf-8"),
        f"{stem}.txt": rendered.text.encode("utf-8"),
        f"{stem}.eml": to_mime(issue, rendered, links),
    })


def write_enqueued(
    config: Config, engine: Engine, who: str, day: date, out_dir: Path, now: datetime
) -> tuple[str, list[Path]] | None:
    """Write ``who``'s issue of ``day`` from its outbox row, as the worker will send it: the
    reader's address and the files; None when that issue was not enqueued."""
    try:
        email = find_subscriber(config, engine, who).email
    except SubscriberError:
        return None  # said again, in full, by the preview of a new issue
    if channel_names.channel_of(email):
        return None  # a team channel's issue is no email: the preview writes its payload
    made = enqueued_message(engine, composer_from_config(config), email, day, now, config)
    if made is None:
        return None
    if isinstance(made, str):
        raise NewsletterError(f"{email}: the issue of {day} is enqueued but {made}")
    stem = file_stem(email, day)
    return email, write_all(out_dir, {
        f"{stem}.html": made.html.encode("utf-8"),
        f"{stem}.txt": made.text.encode("utf-8"),
        f"{stem}.eml": made.raw or b"",
    })


def write_all(out_dir: Path, files: Mapping[str, bytes]) -> list[Path]:
    """All files or none: each is written to a temporary name first, then renamed."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NewsletterError(f"{out_dir}: cannot create the folder ({exc.strerror})") from None
    paths = {out_dir / name: data for name, data in files.items()}
    temps: list[Path] = []
    try:
        for path, data in paths.items():
            temp = path.with_name(f".{path.name}.tmp")
            temps.append(temp)
            temp.write_bytes(data)
    except OSError as exc:
        for temp in temps:
            temp.unlink(missing_ok=True)
        raise NewsletterError(f"{exc.filename}: cannot write ({exc.strerror})") from None
    for temp, path in zip(temps, paths, strict=True):
        os.replace(temp, path)
    return list(paths)


class PreviewIssues:
    """What the preview page shows: subscribers x dates, each issue composed once and rendered
    again whenever a template file changes."""

    def __init__(
        self,
        renderer: Renderer,
        make_issue: IssueMaker,
        subscribers: Sequence[str],
        dates: Sequence[date],
    ) -> None:
        self.renderer = renderer
        self.make_issue = make_issue
        self.subscribers = list(subscribers)
        self.dates = list(dates)
        self._issues: dict[tuple[str, date], tuple[Issue, IssueLinks] | str] = {}
        self._lock = threading.Lock()
        self._stamp = self._template_stamp()
        self._broken: NewsletterError | None = None

    @property
    def name(self) -> str:
        return self.renderer.newsletter.name

    def version(self) -> str:
        """Changes whenever a template file changes."""
        with self._lock:
            self._refresh()
            return f"{self._stamp}:{self.renderer.version}"

    def _refresh(self) -> None:
        """Reload the templates when a file changed; keep a broken template's error to show."""
        stamp = self._template_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self.renderer.reload()
            self._broken = None
        except NewsletterError as exc:
            self._broken = exc

    def _template_stamp(self) -> str:
        seen = []
        for path in self.renderer.template_files:
            info = path.stat()
            seen.append(f"{path}|{info.st_mtime_ns}|{info.st_size}")
        return hashlib.sha256("\n".join(seen).encode()).hexdigest()[:16]

    def render(self, subscriber: str, day: date) -> RenderedEmail | str:
        """The issue as the subscriber gets it, or one line saying why there is none."""
        key = (subscriber, day)
        if key not in self._issues:
            self._issues[key] = self.make_issue(subscriber, day)
        made = self._issues[key]
        if isinstance(made, str):
            return made
        issue, links = made
        with self._lock:
            self._refresh()
            if self._broken is not None:
                raise self._broken
            rendered = self.renderer.render(issue, links)
        if rendered is None:
            return (f"No email for {subscriber} on {day}: nothing matched "
                    "(email.quiet_day = skip)")
        return rendered
