"""The building blocks every change to an app shares: what the engine needs from the console, the
recorded step, and "import, confirm a pending import only when allowed, check that it finished".

Written once here so rollback, apply, promote and `promote --create` ask the same question, refuse the
same way and report the same step names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from difyctl.client.models import App
from difyctl.snapshots.results import Step

T = TypeVar("T")
log = logging.getLogger("difyctl.change")
IMPORT_DONE = frozenset({"completed", "completed-with-warnings"})


class ImportOutcome(Protocol):
    """What difyctl.client.models.ImportResult offers (read-only)."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def current_dsl_version(self) -> str | None: ...
    @property
    def imported_dsl_version(self) -> str | None: ...


class DslConsole(Protocol):
    """The part of difyctl.client.console.ConsoleClient the engine uses (draft sync is not needed)."""

    def get_app(self, app_id: str) -> App: ...
    def export_dsl(
        self, app_id: str, include_secret: bool = False, workflow_id: str | None = None
    ) -> str: ...
    def import_dsl(
        self, yaml_content: str, app_id: str | None = None, name: str | None = None
    ) -> ImportOutcome: ...
    def confirm_import(self, import_id: str) -> ImportOutcome: ...
    def publish(
        self, app_id: str, marked_name: str | None = None, marked_comment: str | None = None
    ) -> object: ...
    def update_model_config(self, app_id: str, config: Mapping[str, Any]) -> object: ...


class CreatingConsole(DslConsole, Protocol):
    """A console that can also delete: an app the engine created and could not verify is deleted again."""

    def delete_app(self, app_id: str) -> None: ...


Probe = Callable[[App], object]  # raise, or return False, to fail the change
Confirm = Callable[[str], bool]


class Refused(Exception):
    """A confirmation was refused: nothing was applied."""


class Rejected(Exception):
    """The server refused the change outright (import status failed): nothing was applied."""


class Failed(Exception):
    """A step after the change failed (verification, probe)."""


def describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return str(message) if message else f"{type(exc).__name__}: {exc}"


def run_step(steps: list[Step], name: str, fn: Callable[[], T], detail: str = "") -> T:
    """Run one step and record it (ok / failed with the reason). Re-raises whatever `fn` raised."""
    log.info("step %s", name)
    try:
        value = fn()
    except BaseException as exc:
        steps.append(Step(name, "failed", describe(exc)))
        log.info("step %s failed: %s", name, describe(exc))
        raise
    steps.append(Step(name, "ok", detail))
    return value


def pending_question(result: ImportOutcome) -> str:
    return (
        f"The DSL is version {result.imported_dsl_version}, the server's is "
        f"{result.current_dsl_version}. Import it anyway?"
    )


def import_confirmed(
    console: DslConsole,
    text: str,
    steps: list[Step],
    *,
    app_id: str | None = None,
    name: str | None = None,
    yes: bool,
    confirm: Confirm | None,
    prefix: str = "",
    nothing: str = "nothing was applied",
) -> ImportOutcome:
    """Import (into `app_id`, or a new app named `name`); a pending import (DSL version mismatch) is
    confirmed only with `yes` or a "yes" from `confirm`. Raises Refused / Rejected: nothing changed."""
    result = run_step(steps, prefix + "import", lambda: console.import_dsl(text, app_id=app_id, name=name))
    if result.status == "pending":
        question = pending_question(result)
        if not (yes or (confirm is not None and confirm(question))):
            steps.append(Step(prefix + "confirm", "refused", question))
            raise Refused(
                f"DSL version mismatch ({result.imported_dsl_version} vs "
                f"{result.current_dsl_version}) not confirmed; {nothing}"
            )
        pending = result
        result = run_step(steps, prefix + "confirm", lambda: console.confirm_import(pending.id))
    if result.status not in IMPORT_DONE:
        steps[-1] = Step(steps[-1].name, "failed", result.error or f"import {result.status}")
        raise Rejected(f"the server refused the import: {result.error or result.status}")
    return result
