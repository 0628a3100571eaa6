"""Readers for a run: the subscribers folder synced into the store, and finding one reader."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from newsletter import addresses
from newsletter.config import Config
from newsletter.errors import SubscriberError
from newsletter.models import Subscriber
from newsletter.store.profiles import SyncReport, active_subscribers, get_subscriber, sync_profiles
from newsletter.subscriber_files import load_dir, load_file, read_dir

log = logging.getLogger(__name__)
_said: dict[str, str] = {}  # the subscriber files skipped by the last sync, and why


def sync_folder(engine: Engine, folder: Path, now: datetime) -> SyncReport:
    """Make the stored file-based profiles match ``folder`` (all files validate first)."""
    subs = load_dir(folder)
    with engine.begin() as conn:
        return sync_profiles(conn, subs, str(folder), now)


def sync_subscribers(config: Config, engine: Engine, now: datetime) -> SyncReport | None:
    """Sync the configured subscribers folder (when there is one) into the store, for a run:
    a bad file is skipped and logged, and the profile it held before stays as it was, so one
    reader's typo holds up nobody else's issue."""
    folder = config.path(config.newsletter.subscribers_dir)
    if not folder.is_dir():
        return None
    subs, problems = read_dir(folder)
    said = {str(path): str(problem) for path, problem in problems.items()}
    for path, problem in said.items():
        if _said.get(path) != problem:  # once per problem, not on every tick
            log.warning("%s; this file is skipped until it is fixed", problem)
    _said.clear()
    _said.update(said)
    with engine.begin() as conn:
        return sync_profiles(conn, subs, str(folder), now, keep=[str(p) for p in problems])


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
