"""``newsletter annotate``: the stored papers labelled by the [llm] model, once; resumable."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from newsletter.cli import cli
from tests.llm_fake import LlmFake

LABELS = {"fields": ["computer science", "machine learning"], "summary": "A summary."}


def test_annotate_labels_the_backlog_once_and_says_what_is_left(
    seeds_dir: Path, tmp_path: Path
) -> None:
    seed = str(seeds_dir / "000_6553f7b6cd8f9837.txt")
    env = {"NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    config = tmp_path / "newsletter.toml"
    config.write_text("")
    args = ["--config", str(config)]
    assert CliRunner().invoke(cli, [*args, "fetch", "--source", seed], env=env).exit_code == 0
    refused = CliRunner().invoke(cli, [*args, "annotate"], env=env)
    assert "no language model is set up" in str(refused.exception)
    with LlmFake(lambda r: LABELS if r.use == "paper_fields" else None) as fake:
        config.write_text(f'[llm]\nbase_url = "{fake.base_url}"\nmodel = "m"\nretries = 0\n')
        fake.status, fake.failures = 503, 4  # the first requests fail: left for the next call
        first = CliRunner().invoke(cli, [*args, "annotate"], env=env)
        asked = fake.counts["paper_fields"]
        second = CliRunner().invoke(cli, [*args, "annotate"], env=env)
        third = CliRunner().invoke(cli, [*args, "annotate"], env=env)
    total = int(first.output.split(" papers:")[0])
    assert first.exit_code == 1 and "not labelled (asked again next time)" in first.output
    assert second.exit_code == 0, second.output
    assert f"{total} papers: 0 labelled now, {total} before, 0 not labelled" in third.output
    assert fake.counts["paper_fields"] - asked <= total  # nothing asked twice once labelled
