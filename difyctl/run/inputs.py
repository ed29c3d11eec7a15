"""The inputs of a run: `--input KEY=VALUE` / `KEY:=JSON` and `--inputs-file` parsing, the checks
that refuse what the server would refuse, and QUERY filling a workflow's text input.

Shared by `difyctl run` (difyctl.run.engine) and broadcast's per-target pre-flight.
"""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from difyctl.errors import UsageError

if TYPE_CHECKING:
    from difyctl.client.models import AppParameters

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
