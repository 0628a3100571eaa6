"""``newsletter match`` and ``newsletter subscribers``, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter.cli import cli
from newsletter.match import fields

REPO = Path(__file__).resolve().parents[2]
SPIKES = """Get trending papers in your email inbox!

Mar 11

Learning Delays in Spiking Neural Networks

Spiking neural networks are a promising direction for power-efficient temporal processing.

Mass-Radius Relationships for Solid Exoplanets

We use new interior models of cold planets to study the mass-radius relation of exoplanets.
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A config folder: words-only matching, a database path, two subscriber files, a page."""
    (tmp_path / "newsletter.toml").write_text(
        '[newsletter]\ndatabase_url = "sqlite:///news.db"\n[match]\nsemantic = false\n'
    )
    folder = tmp_path / "subscribers"
    folder.mkdir()
    (folder / "ada.toml").write_text(
        'email = "ada@example.org"\nname = "Ada"\ntopics = ["spiking neural networks"]\n'
    )
    (folder / "vera.toml").write_text('email = "vera@example.org"\ntopics = ["exoplanets"]\n')
    (tmp_path / "page.txt").write_text(SPIKES)
    return tmp_path


def run(site: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(site / "newsletter.toml"), *args])


def test_match_json_from_a_file_and_a_source(site: Path) -> None:
    result = run(
        site,
        "match",
        "--subscriber",
        str(site / "subscribers" / "ada.toml"),
        "--source",
        str(site / "page.txt"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    picks = json.loads(result.output)
    assert [p["title"] for p in picks] == ["Learning Delays in Spiking Neural Networks"]
    assert {"title", "url", "score", "reasons", "tags"} <= set(picks[0])
    assert picks[0]["reasons"] == ["title matches 'spiking neural networks'"]
    assert not (site / "news.db").exists(), "match with --source must not create a database"


def test_match_text_by_email_from_the_folder(site: Path) -> None:
    result = run(
        site, "match", "--subscriber", "vera@example.org", "--source", str(site / "page.txt")
    )
    assert result.exit_code == 0, result.output
    assert "vera@example.org: 1 of 2 papers (words only)" in result.output
    assert "Mass-Radius Relationships for Solid Exoplanets" in result.output
    assert "why: title matches 'exoplanets'" in result.output


def test_match_text_says_which_topics_name_a_field(site: Path) -> None:
    result = run(
        site, "match", "--subscriber", "ada@example.org", "--source", str(site / "page.txt")
    )
    assert result.exit_code == 0, result.output
    terms = fields.terms("spiking neural networks")
    assert (
        f"'spiking neural networks' names a field: its papers also match by {len(terms)} terms "
        f"({terms[0]}, " in result.output
    )


def test_match_uses_stored_papers_and_records_nothing(site: Path) -> None:
    fetched = run(site, "fetch", "--source", str(site / "page.txt"))
    assert fetched.exit_code == 0, fetched.output
    assert run(site, "subscribers", "sync").exit_code == 0
    for _ in range(2):
        result = run(site, "match", "--subscriber", "ada@example.org", "--json")
        assert result.exit_code == 0, result.output
        assert [p["title"] for p in json.loads(result.output)] == [
            "Learning Delays in Spiking Neural Networks"
        ]


def test_subscribers_sync_list_add_show_remove(site: Path) -> None:
    out = run(site, "subscribers", "sync").output
    assert "2 added, 0 updated, 0 unchanged, 0 removed" in out
    assert "0 added, 0 updated, 2 unchanged" in run(site, "subscribers", "sync").output
    added = run(
        site,
        "subscribers",
        "add",
        "--email",
        "bob@example.org",
        "--topic",
        "robotics",
        "--timezone",
        "Europe/Berlin",
        "--frequency",
        "weekly",
        "--weekday",
        "friday",
    )
    assert added.exit_code == 0, added.output
    assert (site / "subscribers" / "bob-example-org.toml").is_file()
    listing = run(site, "subscribers", "list").output
    assert "bob@example.org" in listing and "3 subscribers" in listing
    shown = run(site, "subscribers", "show", "bob@example.org").output
    assert "weekly on friday at 07:00 Europe/Berlin" in shown
    assert run(site, "subscribers", "remove", "bob@example.org", "--yes").exit_code == 0
    assert not (site / "subscribers" / "bob-example-org.toml").exists()
    assert "2 subscribers" in run(site, "subscribers", "list").output


def test_subscribers_add_takes_a_library_without_topics(site: Path, tmp_path: Path) -> None:
    """A library alone is a profile; its path is taken from where the command runs."""
    bib = tmp_path / "elsewhere" / "mine.bib"
    bib.parent.mkdir()
    bib.write_text("@article{a, title={Learning Delays in Spiking Neural Networks}}\n")
    added = run(site, "subscribers", "add", "--email", "lib@example.org", "--library", str(bib))
    assert added.exit_code == 0, added.output
    shown = run(site, "subscribers", "show", "lib@example.org").output
    assert "learning delays in spiking neural networks" in shown.lower()
    nothing = run(site, "subscribers", "add", "--email", "none@example.org")
    assert nothing.exit_code != 0
    assert not (site / "subscribers" / "none-example-org.toml").exists()


def newsletter(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "newsletter", "--config", str(site / "newsletter.toml")]
    return subprocess.run([*command, *args], capture_output=True, text=True, cwd=site, check=False)


@pytest.mark.slow
def test_errors_are_one_line_naming_the_problem(site: Path) -> None:
    (site / "subscribers" / "bad.toml").write_text(
        'email = "x@y.org"\ntopics = ["a"]\ntimezone = "Nowhere"\n'
    )
    done = newsletter(site, "subscribers", "sync")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: {site / 'subscribers' / 'bad.toml'}: field 'timezone': "
        "unknown IANA timezone 'Nowhere' (like \"Europe/Paris\")"
    )
    (site / "subscribers" / "bad.toml").unlink()
    done = newsletter(site, "match", "--subscriber", "nobody@example.org", "--source", "page.txt")
    assert done.returncode == 2
    assert done.stderr.startswith("error: nobody@example.org: no such subscriber")
    assert len(done.stderr.strip().splitlines()) == 1


def test_example_subscribers_get_explained_picks(site: Path, seeds_dir: Path) -> None:
    """The shipped examples on the seed pages (words only here; embeddings in test_semantic)."""
    sources = [a for p in sorted(seeds_dir.glob("*.txt")) for a in ("--source", str(p))]
    for name in ("ada", "grace", "alan", "vera"):
        example = str(REPO / "subscribers" / f"{name}.toml")
        result = run(site, "match", "--subscriber", example, *sources, "--json")
        assert result.exit_code == 0, result.output
        picks = json.loads(result.output)
        assert picks, name
        assert all(p["reasons"] for p in picks)


def test_subscribers_add_says_how_many_liked_papers_are_recognised(
    site: Path, tmp_path: Path
) -> None:
    assert run(site, "fetch", "--source", str(site / "page.txt")).exit_code == 0
    library = tmp_path / "liked.txt"
    library.write_text("Learning Delays in Spiking Neural Networks\n2401.99999\n"
                       "A paper that no source brought\n")
    added = run(site, "subscribers", "add", "--email", "lib@example.org", "--library",
                str(library))
    assert added.exit_code == 0, added.output
    assert added.output.strip().endswith("; 1 of 3 liked papers recognised")
    plain = run(site, "subscribers", "add", "--email", "t@example.org", "--topic", "exoplanets")
    assert "recognised" not in plain.output


def test_remove_asks_first_and_says_which_file_goes(site: Path) -> None:
    assert run(site, "subscribers", "sync").exit_code == 0
    ada = site / "subscribers" / "ada.toml"
    for answer in ("n\n", "", "maybe\nno\n"):
        kept = CliRunner().invoke(cli, ["--config", str(site / "newsletter.toml"), "subscribers",
                                        "remove", "ada@example.org"], input=answer)
        assert kept.exit_code == 1 and ada.exists()
        assert f"Remove ada@example.org, drop their queued messages and delete the file {ada}?" \
            in kept.output
        assert kept.output.rstrip().endswith("ada@example.org: nothing removed")
    gone = CliRunner().invoke(cli, ["--config", str(site / "newsletter.toml"), "subscribers",
                                    "remove", "ada@example.org"], input="y\n")
    assert gone.exit_code == 0 and not ada.exists()
    assert gone.output.rstrip().endswith("removed ada@example.org")


def test_lists_pipe_whole_cells(site: Path) -> None:
    """Piped (not a terminal), a list is tab-separated lines: no word is broken."""
    long = "decoding images from brain recordings with diffusion models and linear probes"
    (site / "subscribers" / "vera.toml").write_text(
        f'email = "vera@example.org"\ntopics = ["exoplanets", "{long}"]\n')
    assert run(site, "subscribers", "sync").exit_code == 0
    lines = run(site, "subscribers", "list").output.splitlines()
    assert lines[0].split("\t") == ["email", "name", "status", "when", "topics", "origin"]
    vera = next(line.split("\t") for line in lines if line.startswith("vera@"))
    assert vera[4] == f"exoplanets; {long}" and lines[-1] == "2 subscribers"
    fetched = run(site, "fetch", "--source", str(site / "page.txt"))
    assert fetched.exit_code == 0 and "1 source, 2 new papers, 0 failed" in fetched.output
    papers = run(site, "papers").output.splitlines()
    assert papers[0].split("\t") == ["id", "title", "authors", "date", "upvotes"]
    ids = [line.split("\t")[0] for line in papers[1:-1]]
    assert "title:learning delays in spiking neural networks" in ids
    assert papers[-1] == "2 papers"
