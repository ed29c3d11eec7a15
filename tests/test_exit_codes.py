"""`all_failed`: the exit code of a multi-target command whose every target failed (broadcast, health,
keys rotate, snapshot create --all): one shared cause a script tells apart, else 1."""

from __future__ import annotations

import pytest

from difyctl.exit_codes import ExitCode, all_failed


@pytest.mark.parametrize(
    ("causes", "code"),
    [
        ([4, 4], ExitCode.AUTH),
        ([5], ExitCode.UNAVAILABLE),
        ([7, 7, 7], ExitCode.RATE_LIMITED),
        ([4, 5], ExitCode.FAILED),  # failing in different ways: no single cause to report
        ([5, None], ExitCode.FAILED),  # None: a failure of the target's own (a dead key, a failed run)
        ([None, None], ExitCode.FAILED),
        ([2, 2], ExitCode.FAILED),  # each target's bad input is not the command line's usage error
        ([1], ExitCode.FAILED),
        ([130, 130], ExitCode.FAILED),
    ],
)
def test_all_failed(causes: list[int | None], code: ExitCode) -> None:
    assert all_failed(iter(causes)) == code
