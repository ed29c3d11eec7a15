"""Running one app through the service API: inputs, the pre-flight check, the run itself.

Used by `difyctl run` (and by broadcast for its per-target inputs). No printing here: deltas go to a
callback, the result comes back as a RunResult.
"""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from difyctl.errors import UsageError

if TYPE_CHECKING:
    from difyctl.client.models import AppParameters, RunResult, StreamEvent
    from difyctl.client.service import ServiceClient
    from difyctl.validation.engine import DocResult, Validator

CHAT_MODES = ("chat", "advanced-chat", "agent-chat")


def default_user() -> str:
    """A stable end-user id for Dify's logs: `difyctl-<login name>`."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        name = "user"
    return "difyctl-" + (re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "user")


def parse_inputs(pairs: Sequence[str], inputs_file: Path | None = None) -> dict[str, Any]:
    """`--inputs-file` (JSON or YAML mapping) first, then each `--input K=V` over it.

    A value that parses as JSON (number, bool, object, list) is sent as such with `K:=V`; `K=V` is text."""
    inputs: dict[str, Any] = {}
    if inputs_file is not None:
        from difyctl import yamlio

        json_file = inputs_file.suffix.lower() == ".json"
        loaded = yamlio.load_file(inputs_file, fmt="json" if json_file else "auto")
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise UsageError(f"{inputs_file} must hold a mapping of input name to value")
        inputs.update({str(k): v for k, v in loaded.items()})
    for pair in pairs:
        if ":=" in pair and pair.index(":=") < pair.find("=") + 1:
            key, raw = pair.split(":=", 1)
            try:
                inputs[key.strip()] = json.loads(raw)
            except ValueError:
                raise UsageError(f"--input {pair!r}: the value after ':=' is not JSON") from None
        elif "=" in pair:
            key, value = pair.split("=", 1)
            inputs[key.strip()] = value
        else:
            raise UsageError(f"--input {pair!r} is not KEY=VALUE")
        if not key.strip():
            raise UsageError(f"--input {pair!r} has an empty name")
    return inputs


def check_inputs(params: AppParameters, mode: str, query: str | None, inputs: Mapping[str, Any]) -> None:
    """Refuse what the server would refuse (or, when streaming, silently hang on: fixture 039)."""
    if mode in CHAT_MODES and not (query or "").strip():
        raise UsageError(f"a {mode} app needs a QUERY")
    missing = [f for f in params.inputs if f.required and inputs.get(f.variable) in (None, "")]
    if missing:
        names = ", ".join(
            f"{f.variable} ({f.label})" if f.label != f.variable else f.variable for f in missing
        )
        raise UsageError(
            f"missing required input{'s' if len(missing) > 1 else ''}: {names}",
            hint="pass --input NAME=VALUE"
            + (f"; the app's inputs: {_describe(params)}" if params.inputs else ""),
        )
    for spec in params.inputs:
        value = inputs.get(spec.variable)
        if isinstance(value, str) and spec.max_length and len(value) > spec.max_length:
            raise UsageError(
                f"input {spec.variable} is longer than its limit of {spec.max_length} characters"
            )
        if spec.options and value not in (None, "") and str(value) not in spec.options:
            raise UsageError(f"input {spec.variable} must be one of: {', '.join(spec.options)}")


def fill_query_input(
    params: AppParameters, mode: str, query: str | None, inputs: dict[str, Any]
) -> dict[str, Any]:
    """Completion and workflow apps take the question as an input: QUERY fills an input named `query`
    (or the only text input) when it was not given, so one command line works for every mode."""
    if mode in CHAT_MODES or not query:
        return inputs
    names = [f.variable for f in params.inputs]
    texts = [f.variable for f in params.inputs if f.type in ("text-input", "paragraph")]
    target = "query" if "query" in names else (texts[0] if len(texts) == 1 else None)
    if target and inputs.get(target) in (None, ""):
        return {**inputs, target: query}
    return inputs


def _describe(params: AppParameters) -> str:
    return ", ".join(f"{f.variable}{'*' if f.required else ''}" for f in params.inputs)


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
