"""Running one app through the service API: the pre-flight check, the run itself, and the validated
re-ask loop (`run --schema`).

Used by `difyctl run` and health's probes. No printing here: deltas go to a callback, the result
comes back as a RunResult. The inputs (KEY=VALUE, the server's rules) are in `difyctl.run.inputs`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from difyctl.run.inputs import CHAT_MODES, check_inputs, fill_query_input

if TYPE_CHECKING:
    from difyctl.client.models import RunResult, StreamEvent
    from difyctl.client.service import ServiceClient
    from difyctl.validation.engine import DocResult, Validator


def delta_of(event: StreamEvent) -> str:
    """The text an event adds to what the user sees (chat/agent deltas, workflow text chunks)."""
    if event.event in ("message", "agent_message"):
        return str(event.data.get("answer") or "")
    if event.event == "text_chunk":
        inner = event.data.get("data")
        return str(inner.get("text") or "") if isinstance(inner, dict) else ""
    return ""


def run_app(
    service: ServiceClient,
    *,
    query: str | None,
    inputs: Mapping[str, Any],
    user: str,
    conversation_id: str | None = None,
    stream: bool = False,
    on_delta: Callable[[str], None] | None = None,
    check: bool = True,
) -> RunResult:
    """info (mode) -> parameters (pre-flight check) -> run. Returns the RunResult (ok or not)."""
    info = service.info()
    inputs = dict(inputs)
    if check or (query and info.mode not in CHAT_MODES):
        params = service.parameters()
        inputs = fill_query_input(params, info.mode, query, inputs)
        if check:
            check_inputs(params, info.mode, query, inputs)

    def on_event(event: StreamEvent) -> None:
        text = delta_of(event)
        if text and on_delta is not None:
            on_delta(text)

    return service.run(
        info.mode,
        query=query,
        inputs=inputs,
        user=user,
        conversation_id=conversation_id,
        stream=stream or info.mode == "agent-chat",
        on_event=on_event if stream else None,
    )


REASK_TEMPLATE = (
    "Your previous answer does not match the required JSON Schema:\n{errors}\n"
    "Answer again with only the corrected JSON document: no prose, no code fences."
)


@dataclass
class ValidatedAttempt:
    number: int
    result: RunResult
    check: DocResult

    def to_dict(self) -> dict[str, Any]:
        answer: Any = self.result.outputs if self.result.outputs is not None else self.result.answer
        return {
            "attempt": self.number,
            "conversation_id": self.result.conversation_id,
            "answer": answer,
            **self.check.to_dict(with_value=False),
        }


@dataclass
class ValidatedRun:
    """A run whose answer was checked against a schema, with every re-ask kept."""

    attempts: list[ValidatedAttempt] = field(default_factory=list)

    @property
    def last(self) -> ValidatedAttempt:
        return self.attempts[-1]

    @property
    def ok(self) -> bool:
        return self.last.check.ok

    def to_dict(self) -> dict[str, Any]:
        final = self.last.check
        return {
            "ok": final.ok,
            "rung": final.rung,
            "repairs": list(final.repairs),
            "errors": list(final.errors),
            "fallback_used": final.fallback_used,
            "document": final.value if final.ok else None,
            "attempts": [a.to_dict() for a in self.attempts],
        }


def reask_prompt(errors: Sequence[Mapping[str, str]], limit: int = 8) -> str:
    lines = [f"- at {e.get('path', '$')}: {e.get('message', '')} ({e.get('keyword', '')})" for e in errors]
    lines = lines[:limit]
    if len(errors) > limit:
        lines.append(f"- ... and {len(errors) - limit} more")
    return REASK_TEMPLATE.format(errors="\n".join(lines) or "- the answer is not JSON")


def validate_run(
    service: ServiceClient,
    first: RunResult,
    validator: Validator,
    *,
    field: str | None,
    reask: int,
    inputs: Mapping[str, Any],
    user: str,
) -> ValidatedRun:
    """Check the answer (chat: the text; workflow: the outputs or one field of them). A chat app whose
    answer stays invalid after repair is asked again in the same conversation with the errors, up
    to `reask` times (as instructor does). Other modes have no conversation to re-ask in."""
    from difyctl.validation.engine import check_answer

    outcome = ValidatedRun()
    current = first
    for number in range(1, reask + 2):
        answer: Any = current.outputs if current.outputs is not None else (current.answer or "")
        outcome.attempts.append(ValidatedAttempt(number, current, check_answer(validator, answer, field)))
        done = outcome.ok or not current.ok or current.mode not in CHAT_MODES or not current.conversation_id
        if done or number > reask:
            break
        current = service.run(
            current.mode,
            query=reask_prompt(outcome.last.check.errors),
            inputs=dict(inputs),
            user=user,
            conversation_id=current.conversation_id,
        )
    return outcome


def run_and_validate(
    service: ServiceClient,
    *,
    query: str | None,
    inputs: Mapping[str, Any],
    user: str,
    conversation_id: str | None = None,
    stream: bool = False,
    on_delta: Callable[[str], None] | None = None,
    validator: Validator | None = None,
    field: str | None = None,
    reask: int = 0,
) -> tuple[RunResult, ValidatedRun | None]:
    """`difyctl run`: one run, then (with a validator, and when it succeeded) its answer checked and
    re-asked. Returns the last result and the validation (None without a validator or on failure)."""
    result = run_app(
        service,
        query=query,
        inputs=inputs,
        user=user,
        conversation_id=conversation_id,
        stream=stream,
        on_delta=on_delta,
    )
    if validator is None or not result.ok:
        return result, None
    checked = validate_run(service, result, validator, field=field, reask=reask, inputs=inputs, user=user)
    return checked.last.result, checked
