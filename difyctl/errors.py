"""difyctl's own errors (not the server's: those are in difyctl.client.errors).

Engines and commands raise these; only `cli.main()` turns them into a line on stderr and an exit code.
"""

from __future__ import annotations

from difyctl.exit_codes import ExitCode


class DifyctlError(Exception):
    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(DifyctlError):
    """Bad flags or input: unreadable or malformed file, invalid schema, refused confirmation."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """profiles.yaml or the credential store is unusable, or a profile is missing."""


class NotLoggedInError(DifyctlError):
    exit_code = ExitCode.AUTH


class AppNotFoundError(UsageError):
    def __init__(self, ref: str, close: list[str] | None = None) -> None:
        hint = f"did you mean: {', '.join(close)}?" if close else "list the apps with `difyctl apps list`"
        super().__init__(f"no app named or with id {ref!r}", hint=hint)
        self.ref = ref
        self.close = close or []


class PartialFailure(DifyctlError):
    """Some targets of a multi-target command failed; the result was already rendered."""

    exit_code = ExitCode.PARTIAL


class Interrupted(DifyctlError):
    exit_code = ExitCode.INTERRUPTED


def known_errors() -> tuple[type[BaseException], ...]:
    """The exception types the CLI boundary renders as one line (imported lazily: httpx is heavy)."""
    from difyctl.client.errors import DifyError

    return (DifyctlError, DifyError)
