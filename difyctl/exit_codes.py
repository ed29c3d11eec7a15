"""Process exit codes: a contract (DESIGN.md). Scripts and CI depend on these numbers."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # also: `snapshot diff` found differences, `validate` found an invalid document
    USAGE = 2  # bad flags or input, malformed file, invalid schema, confirmation refused
    PARTIAL = 3  # some targets of a multi-target command failed
    AUTH = 4  # 401/403, not logged in, role too low
    UNAVAILABLE = 5  # server or network unavailable after retries
    RATE_LIMITED = 7  # 429 after retries
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM (128 + 15), e.g. a Kubernetes Job or systemd stopping the run


_SHARED_CAUSES = frozenset({ExitCode.AUTH, ExitCode.UNAVAILABLE, ExitCode.RATE_LIMITED})


def all_failed(causes: Iterable[int | None]) -> ExitCode:
    """The exit code of a multi-target command whose every target failed: the cause they all share
    when a script tells it apart for one request (4 refused, 5 no server, 7 rate limited), else 1.
    A cron job that runs over every app pages someone else for "the server is down" than for "these
    apps are broken"."""
    found = set(causes)
    if len(found) == 1:
        (cause,) = found
        if cause in _SHARED_CAUSES:
            return ExitCode(cause)
    return ExitCode.FAILED
