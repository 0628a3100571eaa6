"""Readers: the subscribers folder synced into the store, finding one reader, and the
operator's commands on them (list, add a file, remove, show)."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from newsletter import addresses, channel_names
from newsletter.config import Config
from newsletter.errors import SubscriberError
from newsletter.models import Subscriber
from newsletter.profile import from_dict, to_toml
from newsletter.store.outbox import drop_unsent
from newsletter.store.profiles import (
    StoredSubscriber,
    SyncReport,
    active_subscribers,
    delete_subscriber,
    from_file,
    get_subscriber,
    list_subscribers,
    sync_profiles,
    upsert_subscriber,
)
from newsletter.store.signups import take_file_readers
from newsletter.store.tables import SUBSCRIBER_STATUSES as STATUSES
from newsletter.subscriber_files import load_dir, load_file, read_dir
from newsletter.wording import count

__all__ = ["STATUSES", "StoredSubscriber", "SyncReport"]

log = logging.getLogger(__name__)
_said: dict[str, str] = {}  # the subscriber files skipped by the last sync, and why


def sync_folder(engine: Engine, folder: Path, now: datetime) -> SyncReport:
    """Make the stored file-based profiles match ``folder`` (all files validate first), and
    say what readers kept in files asked for on the web since the last sync."""
    subs = load_dir(folder)
    with engine.begin() as conn:
        unknown = unknown_members(conn, subs)
        if unknown:
            raise next(iter(unknown.values()))
        report = sync_profiles(conn, subs, str(folder), now)
        return replace(report, told=web_requests(conn))


def unknown_members(conn: Connection, subs: Sequence[Subscriber]) -> dict[str, SubscriberError]:
    """By file: a team's member who is not a subscriber (no file among ``subs``, none
    stored), or the team itself, as one line naming the file and the address."""
    here = {addresses.key(s.email) for s in subs}
    problems: dict[str, SubscriberError] = {}
    for sub in subs:
        for address in sub.members:
            key = addresses.key(address)
            if key == addresses.key(sub.email):
                problem = f"{address} is this profile's own address"
            elif key not in here and get_subscriber(conn, address) is None:
                problem = f"no subscriber {address} (no subscriber file has it, none is stored)"
            else:
                continue
            problems[sub.origin] = SubscriberError(f"{sub.origin}: field 'members': {problem}")
            break
    return problems


def web_requests(conn: Connection) -> tuple[str, ...]:
    """One line per reader whose profile a file keeps and who confirmed a web sign-up since
    the last sync: the file still decides, the operator decides whether to follow (told once)."""
    lines = []
    for email, asked, at in take_file_readers(conn):
        stored = get_subscriber(conn, email)
        where = f"the file {stored.subscriber.origin}" if stored else "a subscriber file"
        lines.append(f"{email}: signed up again on the web on {at:%Y-%m-%d %H:%M} UTC asking "
                     f"for {_asked(asked)}; {where} keeps their profile (edit it to follow: "
                     "the web profile was not used)")
    return tuple(lines)


def _asked(profile: Mapping[str, Any]) -> str:
    topics = [str(t) for t in profile.get("topics", [])]
    liked = len(profile.get("library", [])) + len(profile.get("papers", []))
    parts = [f"topics {'; '.join(topics)}"] if topics else []
    parts += [count(liked, "liked paper")] if liked else []
    return " and ".join(parts) or "nothing new"


def sync_subscribers(config: Config, engine: Engine, now: datetime) -> SyncReport | None:
    """Sync the configured subscribers folder (when there is one) into the store, for a run:
    a bad file is skipped and logged, and the profile it held before stays as it was, so one
    reader's typo holds up nobody else's issue."""
    folder = config.path(config.newsletter.subscribers_dir)
    if not folder.is_dir():
        return None
    subs, problems = read_dir(folder)
    with engine.connect() as conn:
        unknown = unknown_members(conn, subs)
    problems |= {Path(origin): problem for origin, problem in unknown.items()}
    subs = [s for s in subs if s.origin not in unknown]
    said = {str(path): str(problem) for path, problem in problems.items()}
    for path, problem in said.items():
        if _said.get(path) != problem:  # once per problem, not on every tick
            log.warning("%s; this file is skipped until it is fixed", problem)
    _said.clear()
    _said.update(said)
    with engine.begin() as conn:
        report = sync_profiles(conn, subs, str(folder), now, keep=[str(p) for p in problems])
        report = replace(report, told=web_requests(conn))
    for line in report.told:
        log.warning("%s", line)
    return report


def load_subscribers(config: Config, engine: Engine, now: datetime) -> list[Subscriber]:
    """Sync the subscribers folder (when there is one); return the active subscribers."""
    sync_subscribers(config, engine, now)
    with engine.connect() as conn:
        return active_subscribers(conn)


def find_subscriber(config: Config, engine: Engine | None, ref: str) -> Subscriber:
    """A subscriber from a file path, the database (when given), or the subscribers folder."""
    path = Path(ref)
    if path.suffix == ".toml" or path.is_file():
        return load_file(path)
    if ref in config.channels:  # a team channel, by its [channels.NAME]
        ref = channel_names.address(ref)
    if engine is not None:
        with engine.connect() as conn:
            stored = get_subscriber(conn, ref)
        if stored is not None:
            return stored.subscriber
    folder = config.path(config.newsletter.subscribers_dir)
    if folder.is_dir():
        for sub in load_dir(folder):
            if addresses.key(sub.email) == addresses.key(ref):
                return sub
    raise SubscriberError(
        f"{ref}: no such subscriber file, and no subscriber with that email "
        f"in the database or in {folder}"
    )


def list_readers(engine: Engine, status: str | None = None) -> list[StoredSubscriber]:
    """Every stored reader (with that status, when given)."""
    with engine.connect() as conn:
        return list_subscribers(conn, status)


def stored_reader(engine: Engine, email: str) -> StoredSubscriber | None:
    with engine.connect() as conn:
        return get_subscriber(conn, email)


def show_reader(engine: Engine, ref: str) -> tuple[Subscriber, str]:
    """A profile from a file (validated; status "file") or a stored reader, and its status."""
    if ref.endswith(".toml") or Path(ref).is_file():
        return load_file(Path(ref)), "file"
    stored = stored_reader(engine, ref)
    if stored is None:
        raise SubscriberError(f"{ref}: no such subscriber file or stored subscriber")
    return stored.subscriber, stored.status


def add_reader(config: Config, engine: Engine, fields: Mapping[str, Any], now: datetime) -> Path:
    """Write a new subscriber file into the subscribers folder and store its profile; the
    profile is checked before anything is written. Returns the file written."""
    folder = config.path(config.newsletter.subscribers_dir)
    email = str(fields["email"])
    target = folder / f"{_slug(email)}.toml"
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
    if data.get("library"):  # a path from here, where the profile reads it from its own folder
        data["library"] = str(Path(str(data["library"])).resolve())
    else:
        data.pop("library", None)
    sub = from_dict(data, str(target))
    if target.exists():
        raise SubscriberError(f"{target}: file already exists; edit it and run 'subscribers sync'")
    with engine.begin() as conn:
        if get_subscriber(conn, email) is not None:
            raise SubscriberError(f"{email}: a subscriber with this email is already stored")
        unknown = unknown_members(conn, [sub])
        if unknown:
            raise next(iter(unknown.values()))
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, to_toml(sub))
        upsert_subscriber(conn, sub, now)
    return target


def file_of(stored: StoredSubscriber) -> str:
    """The subscriber file that keeps this reader's profile, or "" (web, import)."""
    return stored.subscriber.origin if from_file(stored.subscriber) else ""


def remove_reader(engine: Engine, email: str) -> int:
    """Forget a reader: the stored profile, their queued messages (how many is returned) and,
    for a file-based one, the file."""
    with engine.begin() as conn:
        stored = get_subscriber(conn, email)
        if stored is None:
            raise SubscriberError(f"{email}: no such subscriber in the database")
        delete_subscriber(conn, email)
        dropped = drop_unsent(conn, email)
        origin = Path(stored.subscriber.origin)
        if from_file(stored.subscriber) and origin.is_file():
            origin.unlink()
    return dropped


def _slug(email: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", email.lower()).strip("-")


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
