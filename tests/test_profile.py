"""Subscriber files: validation errors name the file, the field and the problem."""

from __future__ import annotations

import tomllib
from datetime import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter.cli import cli
from newsletter.errors import SubscriberError
from newsletter.profile import from_dict, to_toml
from newsletter.store import open_engine
from newsletter.store.profiles import list_subscribers
from newsletter.subscriber_files import load_dir, load_file

REPO = Path(__file__).resolve().parents[1]
GOOD = 'email = "ada@example.org"\ntopics = ["spiking neural networks"]\n'


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_apply(tmp_path: Path) -> None:
    sub = load_file(write(tmp_path, "ada.toml", GOOD))
    assert sub.email == "ada@example.org"
    assert sub.topics == ("spiking neural networks",)
    assert (sub.max_papers, sub.min_upvotes, sub.timezone) == (10, 0, "UTC")
    assert (sub.send_at, sub.frequency, sub.active) == (time(7, 0), "daily", True)
    assert sub.origin == str(tmp_path / "ada.toml")


def test_every_field_is_read(tmp_path: Path) -> None:
    text = GOOD + (
        'name = "Ada"\nexclude = ["clinical"]\nauthors = ["Yann LeCun"]\n'
        'papers = ["2401.01234", "arxiv:2312.00001"]\nmax_papers = 3\nmin_upvotes = 5\n'
        'timezone = "Europe/Paris"\nsend_at = "18:05"\nfrequency = "weekly"\n'
        'weekday = "friday"\nactive = false\n'
    )
    sub = load_file(write(tmp_path, "ada.toml", text))
    assert sub.exclude == ("clinical",) and sub.authors == ("Yann LeCun",)
    assert sub.papers == ("2401.01234", "2312.00001")
    assert (sub.max_papers, sub.min_upvotes, sub.timezone) == (3, 5, "Europe/Paris")
    assert (sub.send_at, sub.frequency, sub.weekday, sub.active) == (
        time(18, 5),
        "weekly",
        4,
        False,
    )


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        ('timezone = "Mars/Olympus"\n', "timezone", "unknown IANA timezone 'Mars/Olympus'"),
        ('send_at = "7am"\n', "send_at", '"HH:MM"'),
        ('send_at = "24:00"\n', "send_at", '"HH:MM"'),
        ('frequency = "hourly"\n', "frequency", "must be one of daily, weekly"),
        ('weekday = "someday"\n', "weekday", "day name"),
        ("max_papers = 0\n", "max_papers", "from 1 to 100"),
        ("min_upvotes = -1\n", "min_upvotes", "from 0"),
        ('active = "yes"\n', "active", "true or false"),
        ('papers = ["not-an-id"]\n', "papers", "not an arXiv id"),
        ('frequency = "weekly"\n', "weekday", "a weekly issue needs its day"),
        ("exclude = [1, 2]\n", "exclude", "list of strings"),
        ('authors = ["Mei \\u202eneh\\u202c"]\n', "authors", "control characters"),  # bidi
        ('exclude = ["clinical\\u0085trials"]\n', "exclude", "control characters"),  # C1
    ],
)
def test_bad_field_names_file_and_field(
    tmp_path: Path, extra: str, field: str, problem: str
) -> None:
    path = write(tmp_path, "ada.toml", GOOD + extra)
    with pytest.raises(SubscriberError) as err:
        load_file(path)
    message = str(err.value)
    assert message.startswith(f"{path}: field '{field}': ")
    assert problem in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "email", ["ada", "ada@", "@example.org", "ada@example", "a b@c.org", "", "jö@bü..org"]
)
def test_bad_email(tmp_path: Path, email: str) -> None:
    path = write(tmp_path, "ada.toml", f'email = "{email}"\ntopics = ["x"]\n')
    with pytest.raises(SubscriberError, match=rf"^{path}: field 'email': not a valid email"):
        load_file(path)


def test_empty_topics(tmp_path: Path) -> None:
    path = write(tmp_path, "ada.toml", 'email = "ada@example.org"\ntopics = ["  "]\n')
    with pytest.raises(SubscriberError, match=r"field 'topics': is empty"):
        load_file(path)


def test_missing_email_unknown_key_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(SubscriberError, match=r"field 'email' is missing"):
        load_file(write(tmp_path, "a.toml", 'topics = ["x"]\n'))
    with pytest.raises(SubscriberError, match=r"unknown field 'topic' \(known: email, "):
        load_file(write(tmp_path, "b.toml", 'email = "a@b.org"\ntopic = ["x"]\n'))
    path = write(tmp_path, "c.toml", 'email = "a@b.org\n')
    with pytest.raises(SubscriberError, match=rf"^{path}: invalid TOML"):
        load_file(path)


def test_two_files_with_one_email(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", GOOD)
    write(tmp_path, "b.toml", GOOD.replace("ada@", "ADA@"))
    with pytest.raises(SubscriberError) as caught:
        load_dir(tmp_path)
    first, other = tmp_path / "a.toml", tmp_path / "b.toml"
    assert str(caught.value) == f"{first}: field 'email': ada@example.org is also in {other}"


def test_toml_round_trip(tmp_path: Path) -> None:
    sub = from_dict(
        {"email": "a@b.org", "topics": ['say "hi"', "x\\y"], "weekday": 2, "frequency": "weekly"},
        "web",
    )
    again = from_dict(tomllib.loads(to_toml(sub)), "web")
    assert again == sub


def test_example_subscribers_validate() -> None:
    subs = load_dir(REPO / "subscribers")
    assert len(subs) >= 3
    assert all(s.topics for s in subs)


def test_a_phrase_given_twice_in_other_case_or_spacing_is_kept_once(tmp_path: Path) -> None:
    path = write(tmp_path, "ada.toml", 'email = "ada@example.org"\n'
                 'topics = ["NLP", "nlp", " spiking  networks", "Spiking Networks", ""]\n')
    assert load_file(path).topics == ("NLP", "spiking networks")


def test_the_abstracts_choice_is_read_from_a_file_and_written_back(tmp_path: Path) -> None:
    sub = load_file(write(tmp_path, "ada.toml", GOOD + 'abstracts = "none"\n'))
    assert sub.abstracts == "none"
    assert load_file(write(tmp_path, "b.toml", GOOD)).abstracts == "short"
    assert 'abstracts = "none"\n' in to_toml(sub)
    path = write(tmp_path, "c.toml", GOOD + 'abstracts = "long"\n')
    with pytest.raises(SubscriberError) as err:
        load_file(path)
    assert str(err.value) == (
        f"{path}: field 'abstracts': must be one of short, full, none, not 'long'")


def test_the_operator_commands_take_the_abstracts_choice(tmp_path: Path) -> None:
    """``subscribers add --abstracts``, the stored profile, and CSV export and import."""
    (tmp_path / "newsletter.toml").write_text(
        '[newsletter]\ndatabase_url = "sqlite:///news.db"\n[match]\nsemantic = false\n')

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--config", str(tmp_path / "newsletter.toml"), *args])

    added = run("subscribers", "add", "--email", "bob@example.org", "--topic", "robotics",
                "--abstracts", "full")
    assert added.exit_code == 0, added.output
    assert 'abstracts = "full"\n' in (tmp_path / "subscribers" / "bob-example-org.toml").read_text()
    assert "abstracts: full" in run("subscribers", "show", "bob@example.org").output
    refused = run("subscribers", "add", "--email", "eve@example.org", "--abstracts", "long")
    assert refused.exit_code == 2 and "'--abstracts'" in refused.output
    exported = run("subscribers", "export").output.splitlines()
    header = exported[0].split(",")
    assert exported[1].split(",")[header.index("abstracts")] == "full"
    (tmp_path / "more.csv").write_text("email,topics,abstracts\nlin@example.org,vision,none\n")
    assert run("subscribers", "import", str(tmp_path / "more.csv")).exit_code == 0
    engine = open_engine(f"sqlite:///{tmp_path / 'news.db'}")
    try:
        with engine.connect() as conn:
            stored = {s.subscriber.email: s.subscriber.abstracts for s in list_subscribers(conn)}
    finally:
        engine.dispose()
    assert stored == {"bob@example.org": "full", "lin@example.org": "none"}


def test_a_string_where_a_list_belongs_is_refused_with_the_list_written_out() -> None:
    """`topics = "robotics, nlp"` was taken silently as one topic."""
    with pytest.raises(SubscriberError) as info:
        from_dict({"email": "ada@example.org", "topics": "robotics, nlp"}, "subscribers/ada.toml")
    assert str(info.value) == (
        "subscribers/ada.toml: field 'topics': must be a list in brackets, one entry each: "
        'topics = ["robotics", "nlp"]'
    )


def test_help_promises_only_what_the_email_does() -> None:
    """No template greets the reader by name: the help says where the name shows."""
    shown = " ".join(CliRunner().invoke(cli, ["subscribers", "add", "--help"]).output.split())
    assert "--name TEXT The reader's name, on the To: line of each issue." in shown
    assert "greet" not in shown
    templates = Path(__file__).resolve().parents[1] / "templates"
    assert not any("subscriber.name" in p.read_text() for p in templates.glob("email.*"))


def test_sections_and_members_are_read_from_a_file_and_written_back(tmp_path: Path) -> None:
    sub = load_file(write(tmp_path, "ada.toml", GOOD + "sections = false\n"))
    assert sub.sections is False and "sections = false\n" in to_toml(sub)
    assert load_file(write(tmp_path, "b.toml", GOOD)).sections is True
    team = load_file(write(tmp_path, "team.toml", 'email = "lab@example.org"\n'
                           'members = ["Ada@Example.org", "lin@example.org", "ada@example.org"]\n'))
    assert team.topics == () and team.members == ("Ada@Example.org", "lin@example.org")
    assert 'members = ["Ada@Example.org", "lin@example.org"]\n' in to_toml(team)
    path = write(tmp_path, "bad.toml", 'email = "lab@example.org"\nmembers = ["ada", "x@y.org"]\n')
    with pytest.raises(SubscriberError) as err:
        load_file(path)
    assert str(err.value) == f"{path}: field 'members': not a valid email address: 'ada'"


def test_subscribers_add_takes_members_and_refuses_one_who_is_no_subscriber(
    tmp_path: Path,
) -> None:
    (tmp_path / "newsletter.toml").write_text(
        '[newsletter]\ndatabase_url = "sqlite:///news.db"\n[match]\nsemantic = false\n')

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--config", str(tmp_path / "newsletter.toml"), *args])

    assert run("subscribers", "add", "--email", "ada@lab.org", "--topic", "robots").exit_code == 0
    refused = run("subscribers", "add", "--email", "team@lab.org", "--member", "ada@lab.org",
                  "--member", "nobody@lab.org")
    target = tmp_path / "subscribers" / "team-lab-org.toml"
    assert isinstance(refused.exception, SubscriberError) and not target.exists()
    assert str(refused.exception) == (f"{target}: field 'members': no subscriber nobody@lab.org "
                                      "(no subscriber file has it, none is stored)")
    added = run("subscribers", "add", "--email", "team@lab.org", "--member", "ada@lab.org")
    assert added.exit_code == 0, added.output
    assert 'members = ["ada@lab.org"]\n' in target.read_text()
