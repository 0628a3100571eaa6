"""``preview --subscriber CHANNEL`` writes the platform's payload and a reading of it;
``send --test CHANNEL`` posts a test message; a channel's settings fail in one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsletter.config import config_from_dict
from newsletter.errors import ConfigError, SubscriberError
from newsletter.subscriber_files import load_file
from tests.channels.conftest import write_project
from tests.channels.fakes import channel_config, platforms
from tests.channels.test_run_channels import invoke
from tests.delivery.smtp_sink import Sink


def test_preview_of_a_channel_writes_its_payload_and_a_reading(tmp_path: Path,
                                                              seeds_dir: Path) -> None:
    seeds = sorted(str(p) for p in seeds_dir.glob("*.txt"))
    with platforms() as fakes:
        tables, env = channel_config(fakes)
        config = write_project(tmp_path, seeds, 2525, tables, max_papers=5)
        code, out = invoke(config, env, "fetch")
        assert code == 0, out
        code, out = invoke(config, env, "preview", "--subscriber", "lab-teams",
                           "--out", str(tmp_path / "p"))
        assert code == 0, out
        assert not any(f.posts for f in fakes.values()), "a preview posts nothing"
    files = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert [f.rsplit("-", 3)[0] for f in files] == ["lab-teams", "lab-teams"]
    assert {Path(f).suffix for f in files} == {".json", ".txt"}
    payload = json.loads((tmp_path / "p" / files[0]).read_text(encoding="utf-8"))
    assert payload["kind"] == "teams"
    card = payload["parts"][0]["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    reading = (tmp_path / "p" / files[1]).read_text(encoding="utf-8")
    assert reading.startswith("== Papers for Lab teams <&> \u2014 ")
    assert reading.count("\nWhy: ") == 5


def test_send_test_posts_to_the_channel_and_says_so(tmp_path: Path) -> None:
    with Sink() as sink, platforms() as fakes:
        tables, env = channel_config(fakes)
        config = write_project(tmp_path, [], sink.port, tables)
        code, out = invoke(config, env, "send", "--test", "lab-matrix")
        assert code == 0, out
        assert out.strip() == "sent a test message to matrix channel 'lab-matrix'"
        assert len(fakes["matrix"].posts) == 1 and not fakes["slack"].posts
        assert "Test message from newsletter" in fakes["matrix"].seen[0]
        code, out = invoke(config, {}, "send", "--test", "lab-slack")  # its URL is not set
        assert code == 1
        assert out.strip() == ("test message to channel 'lab-slack' failed: slack channel "
                               "'lab-slack': environment variable LAB_SLACK_URL is not set")


@pytest.mark.parametrize(("table", "line"), [
    ({"kind": "slack"}, "a slack channel needs key 'channels.lab.url_env'"),
    ({"kind": "matrix", "homeserver": "matrix.org", "room": "!r:x", "token_env": "T"},
     "key 'channels.lab.homeserver' must be an http(s) URL, not 'matrix.org'"),
    ({"kind": "irc", "url_env": "U"}, "key 'channels.lab.kind' must be one of"),
    ({"kind": "slack", "url": "https://hooks.slack.com/x"}, "unknown key 'channels.lab.url'"),
])
def test_a_bad_channel_table_is_one_line_naming_its_key(table: dict[str, str],
                                                        line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"channels": {"lab": table}}, Path("."), "n.toml", {})
    assert str(caught.value).startswith(f"n.toml: {line}")
    assert "\n" not in str(caught.value)


def test_a_channel_file_names_a_channel_not_an_address(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text('channel = "Lab Slack"\ntopics = ["robotics"]\n', encoding="utf-8")
    with pytest.raises(SubscriberError, match=r"lab.toml: field 'channel': 'Lab Slack' is not"):
        load_file(path)
    path.write_text('channel = "lab"\nemail = "a@b.org"\ntopics = ["x"]\n', encoding="utf-8")
    with pytest.raises(SubscriberError, match="a channel has no 'email'"):
        load_file(path)
    path.write_text('channel = "lab"\ntopics = ["robotics"]\n', encoding="utf-8")
    assert load_file(path).email == "lab@channels.invalid"
