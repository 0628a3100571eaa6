"""The language model's three doors through a whole run, against the loopback fake: papers
labelled when stored, a profile widened, an issue reranked, nothing asked twice; and every way
the model can fail leaves every issue going out, on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from newsletter.app.model_status import model_lines
from newsletter.app.run import RunReport, run_once
from newsletter.app.stages import Stages
from newsletter.config import Config
from newsletter.delivery.base import mailer_from_config
from newsletter.delivery.memory import MemoryMailer
from newsletter.llm.contract import Request, rerank_parts
from newsletter.match import Matcher
from newsletter.sources.http import Fetcher
from newsletter.store.tables import llm_answers, rerank_scores
from tests.llm_fake import LlmFake

MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
READER = """
email = "spikes@example.org"
topics = ["spiking neural networks"]
timezone = "UTC"
send_at = "08:00"
"""


def answer(request: Request) -> dict[str, Any]:
    """A stand-in model: labels from the title, two phrases, spiking papers rated 9."""
    if request.use == "paper_fields":
        title = request.user.split("\n", 1)[0].removeprefix("Title: ")
        field = "neuromorphic computing" if "spik" in title.lower() else "machine learning"
        return {"fields": ["computer science", field], "summary": f"On {title[:40]}."}
    if request.use == "reader_profile":
        return {"phrases": ["spiking neurons", "neuromorphic hardware"], "exclude_phrases": []}
    _, titles = rerank_parts(request.user)
    return {"scores": [9 if "spik" in t.lower() else 2 for t in titles]}


@pytest.fixture
def fake() -> Iterator[LlmFake]:
    with LlmFake(answer, keep=False) as server:
        yield server


@pytest.fixture
def setup(
    seeds_dir: Path, tmp_path: Path, database_url: str,
    make_config: Callable[..., Config], open_db: Callable[..., Engine],
) -> Callable[..., tuple[Config, Stages]]:
    def make(llm: dict[str, Any]) -> tuple[Config, Stages]:
        subs = tmp_path / "subscribers"
        subs.mkdir(exist_ok=True)
        (subs / "spikes.toml").write_text(READER, encoding="utf-8")
        config = make_config(
            {
                "newsletter": {"database_url": database_url, "postal_address": "1 Test Road"},
                "sources": [{"path": str(p)} for p in sorted(seeds_dir.glob("*.txt"))],
                "match": {"semantic": False},
                "mailers": {"mem": {"backend": "memory"}},
                "delivery": {"mailer": "mem"},
                "llm": llm,
            },
            env={"NEWSLETTER_SECRET_KEY": "test-secret"},
        )
        engine = open_db()
        return config, Stages.build(config, engine, Matcher.from_settings(config.match))

    return make


def run(config: Config, stages: Stages, now: datetime) -> tuple[MemoryMailer, RunReport]:
    mailer = mailer_from_config(config)
    assert isinstance(mailer, MemoryMailer)
    with Fetcher(config.fetch) as fetcher:
        report = run_once(stages, now, fetcher, mailer)
    return mailer, report


def text_of(mailer: MemoryMailer) -> str:
    message = email.message_from_bytes(mailer.outbox[0].raw or b"", policy=email.policy.default)
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return " ".join(part.get_payload(decode=True).decode().split())


def kept(engine: Engine, use: str) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(llm_answers).where(llm_answers.c.use == use)
        return int(conn.execute(query).scalar_one())


@pytest.mark.slow
def test_a_run_labels_widens_reranks_and_asks_nothing_twice(
    setup: Callable[..., tuple[Config, Stages]], fake: LlmFake,
) -> None:
    config, stages = setup(fake.settings().__dict__ | {})
    mailer, report = run(config, stages, MORNING)
    papers = fake.counts["paper_fields"]
    assert papers == 185 == kept(stages.engine, "paper_fields")  # every stored paper, once
    assert fake.counts["reader_profile"] == 1 and fake.counts["reader_rerank"] == 1
    text = text_of(mailer)
    assert "a language model rates it 9/10 for you" in text  # the rerank's reason
    assert "On " in text  # a card's one-line summary
    assert "reranked by the language model: 1 of 1 reader" in report.describe()
    assert any(line.startswith("language model, labels: 185 asked") for line in report.model)
    lines = model_lines(config, stages.engine, MORNING)
    assert "labelled: 185 of 185 (0 pending)" in lines[1]
    assert any("1 of 1 reranked" in line for line in lines)
    # the next day: the same papers, the same profile: nothing is asked again
    run(config, stages, MORNING + timedelta(days=1))
    assert fake.counts["paper_fields"] == papers and fake.counts["reader_profile"] == 1
    with stages.engine.connect() as conn:
        scores = conn.execute(sa.select(sa.func.count()).select_from(rerank_scores)).scalar_one()
    assert scores >= 30


FAILURES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "down": ({}, {}),
    "503": ({"status": 503}, {"retries": 1}),
    "429 with a long Retry-After": ({"status": 429, "retry_after": "600"}, {}),
    "garbage": ({"mode": "garbage"}, {}),
    "off schema": ({"mode": "off_schema"}, {}),
    "50 MB reply": ({"mode": "huge"}, {}),
    "hung connection": ({"mode": "hang"}, {"timeout": 1, "deadline": 4}),
    "budget spent mid-run": ({}, {"max_requests": 20}),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", FAILURES)
def test_every_issue_goes_out_whatever_the_model_does(
    case: str, setup: Callable[..., tuple[Config, Stages]],
) -> None:
    server, llm = FAILURES[case]
    with LlmFake(answer, keep=False, down=case == "down") as broken:
        for name, value in server.items():
            setattr(broken, name, value)
        config, stages = setup(broken.settings(**llm).__dict__ | {})
        started = time.monotonic()
        mailer, report = run(config, stages, MORNING)
        took = time.monotonic() - started
        broken.stop.set()  # a hung reply lets go
    assert [m.to for m in mailer.outbox] == ["spikes@example.org"]  # the issue went out
    assert "rates it" not in text_of(mailer)  # on the ranking without the model
    assert "reranked by the language model: 0 of 1 reader" in report.describe()
    assert took < 60, took  # bounded by the run's deadline and the budget, not the model


def test_with_llm_unset_no_model_code_is_imported(tmp_path: Path, seeds_dir: Path) -> None:
    config = tmp_path / "newsletter.toml"
    seeds = ", ".join(f'{{path = "{p}"}}' for p in sorted(seeds_dir.glob("*.txt"))[:1])
    config.write_text(
        f'sources = [{seeds}]\n[match]\nsemantic = false\n[mailers.f]\nbackend = "file"\n'
        f'path = "out"\n[delivery]\nmailer = "f"\n', encoding="utf-8")
    (tmp_path / "subscribers").mkdir()
    (tmp_path / "subscribers" / "s.toml").write_text(READER, encoding="utf-8")
    script = (
        "import sys; from newsletter.cli import main\n"
        "sys.argv = ['newsletter', '--config', sys.argv[1], 'run']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('newsletter.llm'))\n"
        "print(json.dumps(loaded))\n"
    ).replace("import sys;", "import json, sys;")
    done = subprocess.run([sys.executable, "-c", script, str(config)], capture_output=True,
                          text=True, env={"NEWSLETTER_SECRET_KEY": "k", "PATH": "/usr/bin"},
                          cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
