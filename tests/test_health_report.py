"""`health`'s exit code when every check failed: one cause for all is said as DESIGN.md says it for one
request (4 every key lookup refused, 5 no server for any check); dead keys are the check's own verdict."""

from __future__ import annotations

import pytest

from difyctl.health import HealthCheck, HealthReport


def _check(ok: bool, cause: int | None = None) -> HealthCheck:
    return HealthCheck("a", None, "app-****", "stored", ok=ok, status="ok" if ok else "fail", cause=cause)


@pytest.mark.parametrize(
    ("checks", "code"),
    [
        ([_check(True), _check(True)], 0),
        ([_check(True), _check(False, 5)], 3),
        ([_check(False), _check(False)], 1),  # every key dead: what health is for
        ([_check(False, 4), _check(False, 4)], 4),  # every key lookup refused: the caller's role
        ([_check(False, 5), _check(False, 5)], 5),  # no server answered any check
        ([_check(False, 4), _check(False, 5)], 1),
        ([_check(False, 5), _check(False)], 1),
    ],
)
def test_exit_code(checks: list[HealthCheck], code: int) -> None:
    assert HealthReport(checks, 1.0).exit_code == code
    assert all("cause" not in c.to_dict() for c in checks)  # not part of the JSON
