"""--apps-file: every problem reported with its line, before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from difyctl.broadcast.targets import Target, parse_apps_file, read_apps_file
from difyctl.errors import UsageError

GOOD = """\
# targets for the release check
- app: support-bot
  profile: staging
  name: support (staging)
  key_env: SUPPORT_KEY
  inputs: {tone: formal}
- echo-workflow
- app: echo-chat-0001
  base_url: http://127.0.0.1:5001
  key_env: ECHO_KEY
  mode: advanced-chat
"""


def test_a_good_file() -> None:
    entries = parse_apps_file(GOOD)
    assert [e.app for e in entries] == ["support-bot", "echo-workflow", "echo-chat-0001"]
    assert [e.line for e in entries] == [2, 7, 8]
    first = entries[0]
    assert first.profile == "staging" and first.name == "support (staging)" and first.key_env == "SUPPORT_KEY"
    assert first.inputs == {"tone": "formal"}
    assert entries[2].mode == "advanced-chat" and entries[2].base_url == "http://127.0.0.1:5001"


def test_a_targets_mapping_is_accepted() -> None:
    assert [e.app for e in parse_apps_file("targets:\n  - app: a\n  - b\n")] == ["a", "b"]


def test_every_problem_is_reported_with_its_line() -> None:
    text = """\
- app: ok-one
- name: no app here
- app: x
  inputs: [1, 2]
- app: y
  tone: typo
- 42
- app: z
  mode: chatbot
- app: w
  base_url: http://x
"""
    with pytest.raises(UsageError) as info:
        parse_apps_file(text, "t.yaml")
    message = info.value.message
    assert "t.yaml has 6 problem(s); nothing was sent" in message
    assert "line 2: entry 2: `app` is required" in message
    assert "line 3: entry 3: `inputs` must be a mapping" in message
    assert "line 5: entry 4: unknown key(s) tone" in message
    assert "line 7: entry 5: expected a mapping" in message
    assert "line 8: entry 6: `mode` must be one of" in message
    assert "line 10: entry 7: `base_url` needs `key_env`" in message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("- app: a\n  inputs: {x: [1, 2}\n", "t.yaml:2: not valid YAML"),
        ("", "t.yaml is empty"),
        ("app: a\n", "t.yaml:1: expected a list of targets"),
        ("[]\n", "lists no targets"),
        ("just a string\n", "t.yaml:1: expected a list of targets"),
    ],
)
def test_malformed_files(text: str, needle: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_apps_file(text, "t.yaml")
    assert needle in info.value.message


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        read_apps_file(tmp_path / "missing.yaml")


def test_target_identity_for_the_per_app_cap_never_shows_the_key() -> None:
    key = "app-secretsecretsecretsecret"
    a = Target("x", "x", "http://h", key)
    assert a.app_key == Target("y", "y", "http://h", key).app_key  # same key = same app
    assert key not in repr(a) and key not in str(a.app_key)
    assert Target("x", "x", "http://h", key, app_id="id-1").app_key == ("http://h", "id-1")
