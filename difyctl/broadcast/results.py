"""Broadcast results: one `TargetResult` per target (ok or not: failures are data), the summary, the
exit code. The JSON shape of `BroadcastResult.to_dict()` is a contract (see `difyctl broadcast -h`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from difyctl.broadcast.stats import latency_summary, price_totals, token_totals
from difyctl.exit_codes import ExitCode, all_failed
from difyctl.jsonshape import app_fields

# status of one target
OK = "ok"
ERROR = "error"
TIMEOUT = "timeout"
RATE_LIMITED = "rate_limited"
CANCELLED = "cancelled"


@dataclass(slots=True)  # one per target, all kept to the end: no __dict__ each
class TargetResult:
    index: int
    app: str
    name: str
    profile: str | None = None
    mode: str | None = None
    status: str = CANCELLED  # ok | error | timeout | rate_limited | cancelled
    answer: str | None = None
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None  # {code, message, http_status}
    latency_ms: float | None = None  # the last attempt: request sent -> answer complete
    ttft_ms: float | None = None  # streaming only
    elapsed_ms: float | None = None  # whole target: first send -> done, retries and backoff included
    tokens: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "completion": 0, "total": 0})
    price: str | None = None
    currency: str | None = None
    attempts: int = 0
    partial: bool = False  # the answer is what arrived before the stream broke
    conversation_id: str | None = None
    workflow_run_id: str | None = None
    validation: dict[str, Any] | None = None  # with --schema: the validation ladder's verdict
    app_id: str | None = None  # when the target was resolved to an id (console listing, alias)
    # what this target's failure means for the process (4 refused, 5 unreachable, 7 rate limited):
    # when EVERY target failed the same way, the exit code says so. Not part of the JSON.
    failure_exit: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def passed(self) -> bool:
        """ok, and (with --schema) its answer is valid: what the exit code counts."""
        return self.ok and (self.validation is None or bool(self.validation.get("ok")))

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"app": self.app, "name": self.name, "mode": self.mode, "ok": self.ok}
        if self.profile:
            doc["profile"] = self.profile
        doc["status"] = self.status
        if self.mode == "workflow":
            doc["outputs"] = self.outputs
        else:
            doc["answer"] = self.answer
        doc.update(
            error=self.error,
            partial=self.partial,
            latency_ms=_round(self.latency_ms),
            ttft_ms=_round(self.ttft_ms),
            elapsed_ms=_round(self.elapsed_ms),
            tokens=dict(self.tokens),
            price=self.price,
            currency=self.currency,
            attempts=self.attempts,
            conversation_id=self.conversation_id,
            workflow_run_id=self.workflow_run_id,
        )
        doc.update(app_fields(self.app_id, self.name, self.mode))
        if self.validation is not None:
            doc["validation"] = self.validation
        return doc


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class BroadcastResult:
    targets: list[TargetResult]
    wall_ms: float
    interrupted: bool = False

    @property
    def ok_count(self) -> int:
        return sum(1 for t in self.targets if t.ok)

    @property
    def failed_count(self) -> int:
        return len(self.targets) - self.ok_count

    def summary(self) -> dict[str, Any]:
        ok = [t for t in self.targets if t.ok]
        by_status: dict[str, int] = {}
        for t in self.targets:
            by_status[t.status] = by_status.get(t.status, 0) + 1
        return {
            "targets": len(self.targets),
            "ok": len(ok),
            "failed": self.failed_count,
            "by_status": by_status,
            "interrupted": self.interrupted,
            "wall_ms": round(self.wall_ms, 1),
            # latency of the successful targets (a 401 answered in 2 ms says nothing about the apps)
            "latency_ms": latency_summary(t.latency_ms for t in ok if t.latency_ms is not None),
            "ttft_ms": latency_summary(t.ttft_ms for t in ok if t.ttft_ms is not None),
            "tokens": token_totals(t.tokens for t in self.targets),
            "price": price_totals((t.price, t.currency) for t in self.targets),
            "attempts": sum(t.attempts for t in self.targets),
            **self._validation_counts(),
        }

    def _validation_counts(self) -> dict[str, Any]:
        checked = [t.validation for t in self.targets if t.validation is not None]
        if not checked:
            return {}
        rungs: dict[str, int] = {}
        for v in checked:
            rungs[str(v.get("rung"))] = rungs.get(str(v.get("rung")), 0) + 1
        valid = sum(1 for v in checked if v.get("ok"))
        return {"valid": valid, "invalid": len(checked) - valid, "rungs": rungs}

    def to_dict(self) -> dict[str, Any]:
        return {"targets": [t.to_dict() for t in self.targets], "summary": self.summary()}

    @property
    def exit_code(self) -> ExitCode:
        """0 all ok, 3 some failed, 130 interrupted. All failed: 4 when every one was refused (401/403:
        the keys, or the console's key lookups), 5 when every one found no server (connection refused,
        timeout, 5xx after retries), 7 when every one was rate limited, else 1: the codes a script
        tells apart for one app (DESIGN.md), also for all of them."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        passed = sum(1 for t in self.targets if t.passed)
        if not self.targets or passed == len(self.targets):
            return ExitCode.OK
        if passed:
            return ExitCode.PARTIAL
        return all_failed(t.failure_exit for t in self.targets)
