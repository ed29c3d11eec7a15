"""Checks shared by the rotation engines: probing a service key, and the exit code of many targets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from difyctl.client.errors import DifyError
from difyctl.exit_codes import ExitCode, all_failed

if TYPE_CHECKING:
    from difyctl.client.service import ServiceClient


def overall_exit(results: Sequence[Any]) -> ExitCode:
    """0 all ok; one target: its own code; several: 3 when some failed; all failed: the cause they
    share (4 refused, 5 no server, 7 rate limited), else 1."""
    failed = [r for r in results if not r.ok]
    if not failed:
        return ExitCode.OK
    if len(results) == 1:
        return ExitCode(failed[0].exit_code)
    return all_failed(r.exit_code for r in failed) if len(failed) == len(results) else ExitCode.PARTIAL


class _ProbeFailed(Exception):
    pass


def probe_key(
    service: Callable[[str], ServiceClient],
    token: str,
    probes: Sequence[str],
    checks: list[dict[str, Any]],
    label: str,
    user: str = "difyctl-rotation",
) -> str | None:
    """GET /v1/info (free), then each probe query; None when all pass, else the first error."""
    from difyctl.run.engine import run_app

    step = f"{label} /v1/info"
    try:
        with service(token) as svc:
            svc.info()
            checks.append({"check": step, "ok": True})
            for text in probes:
                step = f"{label} probe {text!r}"
                result = run_app(svc, query=text, inputs={}, user=user, check=False)
                if not result.ok:
                    raise _ProbeFailed(f"{result.status}: {result.error or 'no answer'}")
                checks.append({"check": step, "ok": True})
    except (DifyError, _ProbeFailed) as exc:
        message = getattr(exc, "message", None) or str(exc)
        checks.append({"check": step, "ok": False, "error": message})
        return f"{step}: {message}"
    return None
