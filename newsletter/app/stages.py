"""The stage objects of one run, built once from the settings: matcher, renderer, composer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from newsletter.config import Config
from newsletter.delivery.compose import Composer, composer_from_config
from newsletter.match import Matcher
from newsletter.render import Renderer
from newsletter.store import open_engine
from newsletter.store.embeddings import StoreCache


def open_database(config: Config, *, upgrade: bool = True) -> Engine:
    """The configured database, migrated to the current schema unless told not to."""
    return open_engine(config.database_url, upgrade=upgrade)


@dataclass(frozen=True)
class Stages:
    """What every run needs besides the clock: settings, database and the stage objects.

    Build it once per process and keep it: the matcher may hold a loaded model.
    """

    config: Config
    engine: Engine
    matcher: Matcher
    renderer: Renderer
    composer: Composer

    @classmethod
    def build(cls, config: Config, engine: Engine, matcher: Matcher | None = None) -> Stages:
        user_templates = config.path(config.newsletter.templates_dir)
        return cls(
            config,
            engine,
            matcher or Matcher.from_settings(config.match, StoreCache(engine)),
            Renderer(config.newsletter, config.email, user_templates),
            composer_from_config(config),
        )
