"""Enqueueing one issue from several processes gives exactly what one process gives."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsletter.app.enqueue import BATCH, enqueue_all, enqueue_due
from newsletter.app.stages import Stages
from newsletter.config import Config
from newsletter.models import Subscriber
from newsletter.sources.reading import load_papers
from newsletter.store import open_engine
from newsletter.store.papers import upsert_papers
from newsletter.store.profiles import iter_active, set_status, upsert_subscriber
from newsletter.store.tables import outbox, outbox_issues

MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TOPICS = ["large language models", "diffusion models for images", "robot learning",
          "speech recognition", "reinforcement learning from human feedback",
          "graph neural networks", "video generation", "agents that use tools"]


def fill(engine: Engine, config: Config, seeds: list[str]) -> None:
    papers = load_papers(seeds, config, MORNING.date())
    with engine.begin() as conn:
        upsert_papers(conn, papers, "seeds", MORNING)
        for i in range(90):
            topics = (TOPICS[i % len(TOPICS)], TOPICS[(i * 3 + 1) % len(TOPICS)])
            sub = Subscriber(email=f"reader{i:03d}@example.org", topics=topics,
                             max_papers=3 + i % 5, send_at=time(8, 0), origin="web")
            upsert_subscriber(conn, sub, MORNING)
        set_status(conn, "reader007@example.org", "paused", MORNING)


def outcome(engine: Engine) -> tuple[set[str], set[tuple[str, str]]]:
    with engine.connect() as conn:
        recipients = set(conn.execute(sa.select(outbox.c.recipient)).scalars())
        rows = conn.execute(sa.select(outbox.c.recipient, outbox_issues.c.issue).join_from(
            outbox, outbox_issues, outbox_issues.c.row_id == outbox.c.id))
        sent = {(e, str(p[0])) for e, issue in rows for p in issue["picks"]}
    return recipients, sent


@pytest.mark.slow
def test_two_processes_enqueue_each_due_subscriber_exactly_once(
    pg_url: str, tmp_path: Path, seeds_dir: Path, make_config: Callable[..., Config]
) -> None:
    """Also with an operator's fields file that broke after the run started: the shards
    match with the fields the run read, as the single process does."""
    seeds = sorted(str(p) for p in seeds_dir.glob("*.txt"))
    ours = tmp_path / "fields.json"
    ours.write_text(json.dumps({"fields": [{"names": ["graph neural networks"],
                                           "terms": ["message passing", "node classification"]}]}))
    configs, engines = {}, {}
    for name, url in (("pg", pg_url), ("lite", f"sqlite:///{tmp_path / 'one.db'}")):
        configs[name] = make_config(
            {"newsletter": {"database_url": url},
             "match": {"semantic": False, "fields": str(ours)},
             "schedule": {"enqueue_processes": 2}},
            env={"NEWSLETTER_SECRET_KEY": "test-secret"},
        )
        engines[name] = open_engine(url)
        fill(engines[name], configs[name], seeds)

    stages = {name: Stages.build(configs[name], engines[name]) for name in configs}
    ours.write_text('{"fields": [')  # an edit half saved
    sharded = enqueue_all(stages["pg"], MORNING, 2)
    single = enqueue_due(stages["lite"], iter_active(engines["lite"], BATCH), MORNING)

    assert sharded.enqueued + sharded.quiet == 89  # every active subscriber, once
    assert (sharded.enqueued, sharded.quiet) == (single.enqueued, single.quiet)
    assert sharded.enqueued > 60
    assert outcome(engines["pg"]) == outcome(engines["lite"])
    assert "reader007@example.org" not in outcome(engines["pg"])[0]
    again = enqueue_all(stages["pg"], MORNING, 2)
    assert (again.enqueued, again.already) == (0, sharded.enqueued)
    for engine in engines.values():
        engine.dispose()
