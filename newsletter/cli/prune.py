"""``newsletter prune``: drop old delivery details, keep what matching and the archive read."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from newsletter.app.run import prune_old
from newsletter.cli.common import App, pass_app


@click.command()
@pass_app
def prune(app: App) -> int:
    """Remove delivery details older than [delivery] prune_after_days (the service does this
    daily): unsent and confirmation rows, provider ids, kept message copies, unused template
    versions. Each reader's issues and the papers they were sent stay."""
    report = prune_old(app.config, app.engine, datetime.now(UTC))
    app.console.print(report.describe(), markup=False)
    return 0


commands = [prune]
