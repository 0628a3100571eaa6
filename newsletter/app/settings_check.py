"""The settings whose check needs a stage: each mailer's options (its backend's own schema)
and the fetch cron (the scheduler's reading of it). Checked when a command loads the config,
with the rest of it, so that a bad value stops every command in one line before it starts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from newsletter.app.service import crontab_trigger
from newsletter.config import Config
from newsletter.delivery.base import MailerEnv, create_mailer
from newsletter.errors import ConfigError


def check_settings(config: Config) -> Config:
    """``config`` when every mailer and the schedule are valid; ConfigError naming the key."""
    env = MailerEnv(config.secrets, config.base_dir)
    for name, settings in config.mailers.items():
        create_mailer(name, settings, env, origin=config.origin)
    schedule = config.schedule
    try:
        crontab_trigger(schedule.fetch_cron, ZoneInfo(schedule.timezone))
    except ValueError as exc:
        raise ConfigError(
            f"{config.origin}: key 'schedule.fetch_cron': {schedule.fetch_cron!r}: {exc}"
        ) from None
    return config
