"""Fan-out commands against a console that fails key lookups: only the affected app fails, every app
is accounted for, and a failed lookup is never reported as "no key" (issue 13, rotation item 7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from difyctl.config import alias_env_name
from difyctl.emulator.errors import forbidden
from tests.commands.conftest import Cli

KEYS_OF = r"^/console/api/apps/{}/api-keys$"
DEMO = {"echo-workflow", "echo-chat", "json-chat", "echo-completion"}


def _break_lookup(emu: Any, name: str) -> None:
    """Every attempt (the first and its two retries) of one app's key lookup answers 500."""
    emu.faults.fail_next("GET", KEYS_OF.format(emu.app_id(name)), 500, times=3)


def test_broadcast_all_one_lookup_fails(cli: Cli, logged_in: Any, sleeps: list[float]) -> None:
    _break_lookup(logged_in, "json-chat")
    res = cli("broadcast", "hi", "--all", "-o", "json")
    assert res.code == 3, res.stderr
    by_name = {t["name"]: t for t in res.json()["targets"]}
    assert set(by_name) == DEMO
    failed = by_name.pop("json-chat")
    assert failed["status"] == "error" and failed["error"]["code"] == "key_lookup_failed"
    assert failed["error"]["http_status"] == 500
    assert failed["error"]["message"].startswith("key lookup failed: HTTP 500")
    assert "no service API key" not in res.stdout + res.stderr
    assert all(t["ok"] for t in by_name.values())
    assert len(sleeps) >= 2  # the lookup was retried (backoff asked for, nothing slept)


def _refuse_lookups(emu: Any, names: set[str], status: int) -> None:
    for name in names:
        if status == 403:  # a role that may list apps but not read their keys (werkzeug's Forbidden)
            body = forbidden().body
            emu.faults.fail_next("GET", KEYS_OF.format(emu.app_id(name)), 403, body, times=3)
        else:
            emu.faults.fail_next("GET", KEYS_OF.format(emu.app_id(name)), status, times=3)


@pytest.mark.parametrize(("status", "code"), [(403, 4), (500, 5)])
def test_broadcast_all_every_lookup_failing_the_same_way_says_so(
    cli: Cli, logged_in: Any, sleeps: list[float], status: int, code: int
) -> None:
    """Every key lookup refused (403: the role) -> exit 4, every one failing 5xx -> exit 5: what a cron
    job tells apart for one app (DESIGN.md), not a bare 1; each target still carries its own error."""
    _refuse_lookups(logged_in, DEMO, status)
    res = cli("broadcast", "hi", "--all", "-o", "json")
    assert res.code == code, res.stderr
    targets = res.json()["targets"]
    assert {t["name"] for t in targets} == DEMO
    assert all(t["error"]["code"] == "key_lookup_failed" for t in targets)
    assert all(t["error"]["http_status"] == status for t in targets)


def test_broadcast_all_failing_in_different_ways_exits_1(
    cli: Cli, logged_in: Any, sleeps: list[float]
) -> None:
    _refuse_lookups(logged_in, {"echo-chat"}, 403)
    _refuse_lookups(logged_in, DEMO - {"echo-chat"}, 500)
    res = cli("broadcast", "hi", "--all", "-o", "json")
    assert res.code == 1, res.stderr
    assert {t["error"]["http_status"] for t in res.json()["targets"]} == {403, 500}


def test_broadcast_all_with_a_random_console_error_rate(cli: Cli, logged_in: Any) -> None:
    logged_in.faults.scope = r"^/console/api/apps/[^/]+/api-keys$"
    logged_in.faults.error_rate_5xx = 0.5
    for seed in (1, 2, 3):
        logged_in.faults.reseed(seed)
        res = cli("broadcast", "hi", "--all", "-o", "json")
        assert res.code in (0, 3), res.stderr
        targets = res.json()["targets"]
        assert {t["name"] for t in targets} == DEMO
        assert all(t["ok"] or t["error"]["code"] == "key_lookup_failed" for t in targets)


def test_health_reports_a_failed_lookup_as_such(cli: Cli, logged_in: Any) -> None:
    _break_lookup(logged_in, "echo-chat")
    res = cli("health", "--all", "-o", "json")
    assert res.code == 3, res.stderr
    by_app = {r["app"]: r for r in res.json()["results"]}
    assert set(by_app) == DEMO
    assert by_app["echo-chat"]["error"].startswith("key lookup failed: HTTP 500")
    assert "no service API key" not in by_app["echo-chat"]["error"]
    assert all(r["ok"] for a, r in by_app.items() if a != "echo-chat")


@pytest.mark.parametrize(("status", "code"), [(403, 4), (500, 5)])
def test_health_every_lookup_failing_the_same_way_says_so(
    cli: Cli, logged_in: Any, sleeps: list[float], status: int, code: int
) -> None:
    """No key could be read: 4 when the console refused every lookup (the caller's role), 5 when it
    answered none; each app still says why. Dead keys are the check's own verdict (the next test)."""
    _refuse_lookups(logged_in, DEMO, status)
    res = cli("health", "--all", "-o", "json")
    assert res.code == code, res.stderr
    results = res.json()["results"]
    assert {r["app"] for r in results} == DEMO
    assert all(r["error"].startswith(f"key lookup failed: HTTP {status}") for r in results)
    assert all("cause" not in r for r in results)  # the JSON shape is unchanged


def test_health_every_key_refused_is_the_checks_verdict(cli: Cli, logged_in: Any) -> None:
    """Every key dead (the server answers 401 to each): that is what health reports, exit 1, not 4."""
    env = {alias_env_name(name): "app-deaddeaddeaddeaddead0000" for name in DEMO}
    res = cli("health", "--all", "-o", "json", env=env)
    assert res.code == 1, res.stderr
    results = res.json()["results"]
    assert {r["app"] for r in results} == DEMO
    assert all(not r["ok"] and r["key_source"].startswith("env:") for r in results)


def test_health_still_says_no_key_for_an_app_without_one(cli: Cli, logged_in: Any) -> None:
    state = logged_in.state
    with state.lock:
        state.apps[logged_in.app_id("echo-completion")].api_keys.clear()
        state._reindex()
    res = cli("health", "--all", "-o", "json")
    assert res.code == 3
    error = {r["app"]: r for r in res.json()["results"]}["echo-completion"]["error"]
    assert error.startswith("the app has no service API key") and "lookup" not in error


def test_rotate_all_one_lookup_fails(cli: Cli, logged_in: Any) -> None:
    _break_lookup(logged_in, "echo-chat")
    res = cli("keys", "rotate", "--all", "--grace", "60", "--yes", "-o", "json")
    assert res.code == 3, res.stderr
    by_app = {r["app"]: r for r in res.json()["results"]}
    assert set(by_app) == DEMO
    assert by_app["echo-chat"]["status"] == "failed"
    assert by_app["echo-chat"]["error"].startswith("key lookup failed: HTTP 500")
    assert {r["status"] for a, r in by_app.items() if a != "echo-chat"} <= {"promoted", "skipped"}


def test_a_spinner_counts_the_key_lookups(cli: Cli, logged_in: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal the resolution shows "resolving N apps ... k/N" (Output.progress, recorded here)."""
    from contextlib import contextmanager

    from difyctl.output import Output

    labels: list[str] = []

    class Recorder:
        def advance(self, n: int = 1, *, label: str | None = None) -> None:
            labels.append(label or "")

    @contextmanager
    def progress(self: Output, total: int | None, label: str) -> Iterator[Recorder]:
        labels.append(label)
        yield Recorder()

    monkeypatch.setattr(Output, "progress", progress)
    res = cli("health", "--all", "-o", "json")
    assert res.code == 0, res.stderr
    assert labels[0] == "resolving apps"
    assert labels[1:] == [f"resolving 4 apps ... {k}/4" for k in range(1, 5)]


def test_health_with_no_server_for_any_check_exits_5(cli: Cli, logged_in: Any, sleeps: list[float]) -> None:
    """A proxy's 502 page for every /v1/info (retried, then given up): the server is down, not the keys."""
    logged_in.faults.fail_next(
        "GET", r"^/v1/info$", 502, "<html><body>502 Bad Gateway</body></html>", times=99
    )
    res = cli("health", "--all", "-o", "json")
    assert res.code == 5, res.stderr
    assert not any(r["ok"] for r in res.json()["results"])


def test_health_all_says_how_long_the_keys_took(cli: Cli, logged_in: Any) -> None:
    """Pipelined, `resolve_ms` is the start to the last key known (it overlaps the checks)."""
    res = cli("health", "--all", "-o", "json")
    assert res.code == 0, res.stderr
    summary = res.json()["summary"]
    assert summary["resolve_ms"] > 0 and summary["total"] == len(DEMO) == summary["ok"]


def _random_lookup_faults(emu: Any, seed: int) -> None:
    """Half the console's key requests answer 500 (each GET retried twice, then given up)."""
    emu.faults.scope = r"^/console/api/apps/[^/]+/api-keys$"
    emu.faults.error_rate_5xx = 0.5
    emu.faults.reseed(seed)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_health_all_with_a_random_console_error_rate(cli: Cli, logged_in: Any, seed: int) -> None:
    _random_lookup_faults(logged_in, seed)
    res = cli("health", "--all", "-o", "json")
    assert res.code in (0, 3), res.stderr
    results = res.json()["results"]
    assert sorted(r["app"] for r in results) == sorted(DEMO)
    assert all(r["ok"] or r["error"].startswith("key lookup failed: HTTP 500") for r in results)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rotate_all_with_a_random_console_error_rate_loses_no_key(
    cli: Cli, logged_in: Any, seed: int
) -> None:
    """Lookups and key creations failing at random: every app accounted for, none with more keys than
    it had + 1 (the new one), none without the keys it had (nothing revoked inside the grace), and the
    exit code matches the results: 0 all rotated, 3 some, 5 none (every failure a 5xx)."""

    def tokens() -> dict[str, set[str]]:
        with logged_in.state.lock:
            return {n: {k.token for k in logged_in.state.get_app(logged_in.app_id(n)).api_keys} for n in DEMO}

    before = tokens()
    _random_lookup_faults(logged_in, seed)
    res = cli("keys", "rotate", "--all", "--grace", "60", "--yes", "-o", "json")
    results = {r["app"]: r for r in res.json()["results"]}
    assert set(results) == DEMO, res.stderr
    after = tokens()
    assert all(before[n] <= after[n] and len(after[n]) <= len(before[n]) + 1 for n in DEMO)
    done = [n for n, r in results.items() if r["status"] in ("promoted", "skipped")]
    assert all(len(after[n]) == len(before[n]) + 1 for n in done if results[n]["status"] == "promoted")
    assert all(results[n]["error"] for n in DEMO if n not in done)
    assert res.code == (0 if len(done) == len(DEMO) else 3 if done else 5), res.stderr


def test_health_all_one_key_lookup_that_never_answers_fails_only_its_app(cli: Cli, logged_in: Any) -> None:
    """Pipelined: the others are checked while one app's lookup hangs; `--timeout` (tiny here, no
    timed assertion) ends it as a failed lookup of that app, not "no key", not the whole command."""
    logged_in.faults.scope = KEYS_OF.format(logged_in.app_id("json-chat"))
    logged_in.faults.hang = True
    res = cli("health", "--all", "--timeout", "0.2", "-o", "json")
    assert res.code == 3, res.stderr
    by_app = {r["app"]: r for r in res.json()["results"]}
    assert set(by_app) == DEMO
    hung = by_app.pop("json-chat")
    assert not hung["ok"] and hung["error"].startswith("key lookup failed: no answer") and hung["key"] == ""
    assert all(r["ok"] for r in by_app.values())
