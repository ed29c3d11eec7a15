"""`health --all` interrupted (Ctrl-C, or SIGTERM from a Kubernetes Job / systemd): what finished is
printed with the rest marked cancelled, and the exit code says which signal (130 / 143)."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.commands.conftest import Cli
from tests.commands.test_broadcast_cmd import _sigterm_must_be_handled


@pytest.mark.parametrize(("signame", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interrupted_health_check_prints_what_finished(
    cli: Cli, logged_in: Any, monkeypatch: pytest.MonkeyPatch, signame: str, code: int
) -> None:
    import difyctl.health as health_mod

    real_one = health_mod._one
    done = 0

    async def one_then_signal(*args: Any) -> None:
        nonlocal done
        await real_one(*args)
        done += 1
        if done == 1:  # the first app is checked: the server hangs, the signal comes
            logged_in.faults.hang = True
            signal.raise_signal(getattr(signal, signame))

    monkeypatch.setattr(health_mod, "_one", one_then_signal)
    with _sigterm_must_be_handled():
        result = cli("health", "--all", "--concurrency", "1", "-o", "json")
    assert result.code == code, result.stderr
    doc = result.json()
    statuses = [r["status"] for r in doc["results"]]
    assert statuses[0] == "ok" and set(statuses[1:]) == {"cancelled"} and len(statuses) == 4
    assert doc["summary"]["interrupted"] is True and doc["summary"]["ok"] == 1


def test_the_text_report_says_cancelled_not_fail(
    cli: Cli, logged_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal an interrupted check is 'cancelled' with no latency, and the summary line says
    how many were not checked: 'FAIL 0 ms' read as three dead keys."""
    import difyctl.health as health_mod

    real_one = health_mod._one

    async def one_then_signal(*args: Any) -> None:
        await real_one(*args)
        logged_in.faults.hang = True
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(health_mod, "_one", one_then_signal)
    result = cli("health", "--all", "--concurrency", "1")
    assert result.code == 130, result.stderr
    rows = [
        line.split() for line in result.stdout.splitlines() if line.split()[:1] and line.split()[0] in DEMO
    ]
    statuses = sorted("cancelled" if "cancelled" in row else row[2] for row in rows)
    assert statuses == ["cancelled", "cancelled", "cancelled", "ok"], result.stdout
    assert "FAIL" not in result.stdout and " 0 ms" not in result.stdout
    assert "1/4 healthy" in result.stdout + result.stderr
    assert "(3 not checked: interrupted)" in result.stdout + result.stderr


DEMO = {"echo-workflow", "echo-chat", "json-chat", "echo-completion"}
