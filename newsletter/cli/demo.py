"""``newsletter demo``: the whole pipeline on the sample pages and subscribers that ship with it."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import replace
from datetime import UTC, datetime, time
from pathlib import Path

import click

from newsletter.app.ingest import open_fetcher
from newsletter.app.issue import candidates, compose, picks_for
from newsletter.app.mailers import configured_mailer
from newsletter.app.readers import load_subscribers
from newsletter.app.run import deliver, fetch
from newsletter.app.sentence_model import state_of
from newsletter.app.stages import Stages, open_database
from newsletter.cli.common import App, pass_app
from newsletter.cli.fetch import describe
from newsletter.cli.model import fetch_model_first
from newsletter.cli.progress import show_embedding_progress
from newsletter.config import Config, load_config
from newsletter.models import Subscriber
from newsletter.wording import count

SHOWN = 3  # picks printed per sample subscriber
DATA = Path(__file__).resolve().parent.parent / "demo" / "data"

CONFIG = """\
# Written by `newsletter demo`: a newsletter over the sample data that ships with the package.
[newsletter]
name = "Paper Digest (demo)"
sender = "Paper Digest <digest@demo.example.org>"
base_url = "http://127.0.0.1:8000"
postal_address = "Paper Digest, 1 Example Street, 00000 Example City"
database_url = "sqlite:///newsletter.db"
subscribers_dir = "{subscribers}"

{sources}
[mailers.demo]
backend = "file"
path = "outbox"

[delivery]
mailer = "demo"
"""


@click.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("newsletter-demo"),
    show_default=True,
    help="Where the demo writes its config, database, emails and previews.",
)
@pass_app
def demo(app: App, folder: Path) -> None:
    """Fetch the sample pages, match the sample subscribers, render and 'send' to files."""
    config = _fresh_config(app, folder.resolve())
    fetch_model_first(app, config)
    engine = open_database(config)
    now = datetime.now(UTC)
    say = app.console.print
    stages = Stages.build(config, engine)
    matcher = state_of(stages.matcher)
    show_embedding_progress(stages, app.err)
    say(f"[bold]1. fetch[/bold]: the sample digest pages in {DATA}")
    with open_fetcher(config.fetch) as fetcher:
        fetch(stages, fetcher, now, lambda r: say("   " + describe(r)))
    # Everyone is due now in the demo, whatever their usual send time and weekday.
    subs = [
        replace(s, send_at=time(0, 0), frequency="daily")
        for s in load_subscribers(config, engine, now)
    ]
    say(f"[bold]2. match[/bold]: {len(subs)} sample subscribers")
    say(f"   {matcher.line()}", markup=False)
    _show_picks(app, stages, subs, now, folder.resolve() / "preview")
    report, sent = deliver(stages, now, configured_mailer(config), readers=subs, sync=False)
    written = sent.sent if sent else 0
    say(f"[bold]3. send[/bold]: {report.enqueued} emails enqueued, {written} written as .eml")
    _where(app, config, folder)
    engine.dispose()


def _fresh_config(app: App, root: Path) -> Config:
    """Write the demo's config into an emptied folder and load it like any other."""
    for name in ("newsletter.db", "newsletter.db-wal", "newsletter.db-shm"):
        (root / name).unlink(missing_ok=True)
    for name in ("outbox", "preview"):
        shutil.rmtree(root / name, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    pages = sorted(p for p in DATA.iterdir() if p.suffix in (".txt", ".json", ".xml"))
    sources = "\n".join(f'[[sources]]\npath = "{p}"\n' for p in pages)
    text = CONFIG.format(subscribers=DATA / "subscribers", sources=sources)
    (root / "newsletter.toml").write_text(text, encoding="utf-8")
    env = {"NEWSLETTER_SECRET_KEY": secrets.token_urlsafe(32)} | app.env
    env.pop("NEWSLETTER_DATABASE_URL", None)  # the demo always uses its own SQLite file
    return load_config(root / "newsletter.toml", env=env)


def _show_picks(app: App, stages: Stages, subs: list[Subscriber], now: datetime, out: Path) -> None:
    """Print each subscriber's picks with reasons and write an HTML + text preview."""
    out.mkdir(parents=True, exist_ok=True)
    with stages.engine.connect() as conn:
        pool = candidates(conn, now)
    chosen = picks_for(stages, subs, pool)
    for sub in subs:
        picks = chosen.get(sub.email, [])
        shown = f" (first {SHOWN} shown)" if len(picks) > SHOWN else ""
        topics = ", ".join(sub.topics)
        app.console.print(f"   {sub.email} ({topics}): {count(len(picks), 'paper')}{shown}")
        for pick in picks[:SHOWN]:
            app.console.print(f"     - {pick.paper.title}", markup=False)
            app.console.print(f"       why: {'; '.join(pick.reasons)}", markup=False)
        _, rendered, _ = compose(stages, sub, now.date(), picks, now)
        if rendered is not None:
            stem = sub.email.split("@")[0]
            (out / f"{stem}.html").write_text(rendered.html, encoding="utf-8")
            (out / f"{stem}.txt").write_text(rendered.text, encoding="utf-8")


def _where(app: App, config: Config, folder: Path) -> None:
    say = app.console.print
    say("[bold]Where to look[/bold]")
    say(f"   emails (open in any mail client): {config.path('outbox')}/*.eml")
    say(f"   previews in a browser:            {config.path('preview')}/*.html")
    say(f"   the config the demo used:         {config.path('newsletter.toml')}")
    say(f"   stored papers:   newsletter --config {folder}/newsletter.toml papers")
    say(
        f"   one subscriber:  newsletter --config {folder}/newsletter.toml match --subscriber EMAIL"
    )


commands = [demo]
