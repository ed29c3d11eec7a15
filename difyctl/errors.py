"""difyctl's own errors (not the server's: those are in difyctl.client.errors).

Engines and commands raise these; only `cli.main()` turns them into a line on stderr and an exit code.
"""

from __future__ import annotations

import sys

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


class FileWriteError(DifyctlError):
    """A file or folder could not be written (permission, full disk, a dangling symlink): exit 1, or 2
    when the path the user chose is unusable (not a folder, not writable)."""


_NOT_USABLE = {"EACCES", "EPERM", "EROFS", "EEXIST", "ENOTDIR", "EISDIR", "ENAMETOOLONG", "ELOOP"}


def file_error(exc: OSError, path: object = None) -> FileWriteError:
    """One clear line for an OSError from the file system, naming the path and what to do."""
    import errno

    where = exc.filename if exc.filename is not None else path
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc) or type(exc).__name__
    target = f" {where}" if where is not None else ""
    if name == "ENOSPC" or name == "EDQUOT":
        return FileWriteError(
            f"no space left on the device for{target}",
            hint="free some space, or choose another folder (--dir / DIFYCTL_SNAPSHOT_DIR)",
        )
    if name in ("EACCES", "EPERM", "EROFS"):
        return FileWriteError(
            f"permission denied:{target} ({reason})",
            hint="choose a folder you can write to (--dir / DIFYCTL_SNAPSHOT_DIR) or fix its permissions",
            exit_code=ExitCode.USAGE,
        )
    if name == "EEXIST" or name == "ENOTDIR":
        return FileWriteError(
            f"{where} is not a usable folder ({reason}; a dangling symlink or a file in the way?)",
            hint="point --dir at a folder, or remove what is in the way",
            exit_code=ExitCode.USAGE,
        )
    return FileWriteError(
        f"cannot use{target}: {reason}",
        exit_code=ExitCode.USAGE if name in _NOT_USABLE else None,
    )


def from_unexpected(exc: BaseException) -> DifyctlError | None:
    """The environment problems that used to reach the user as "unexpected <Python error>": a file
    system error, or httpx asking for `socksio` because a proxy variable names a SOCKS proxy."""
    if isinstance(exc, OSError):
        return file_error(exc)
    if isinstance(exc, ImportError) and "socksio" in str(exc).lower():
        return UsageError(
            "a proxy variable (ALL_PROXY, HTTPS_PROXY or HTTP_PROXY) names a SOCKS proxy, "
            "which needs the socksio package",
            hint="pip install 'httpx[socks]' in difyctl's environment, or unset the proxy variable",
        )
    return None


# Dify's codes for "the request names or carries something wrong": the README's exit 2 (bad input).
INPUT_REJECTED = frozenset({"invalid_param", "not_chat_app", "not_workflow_app"})


def exit_code_for(exc: BaseException) -> tuple[int, str | None]:
    """(exit code, hint) the user sees for a known error, by the README's table: the server refusing an
    input (invalid_param, a wrong app mode, 422) and a 404 (an unknown app, version, conversation) are
    bad input (2), like their local counterparts, whatever the client layer's default is."""
    code = int(getattr(exc, "exit_code", ExitCode.FAILED))
    hint = getattr(exc, "hint", None)
    if code != ExitCode.FAILED or "difyctl.client.errors" not in sys.modules:  # no server error possible
        return code, hint
    from difyctl.client.errors import DifyStatusError, DifyStreamError, NotFoundError

    if isinstance(exc, NotFoundError):
        return int(ExitCode.USAGE), hint or "check the name or id; `difyctl apps list` shows the apps"
    server_code = getattr(exc, "code", "")
    rejected = isinstance(exc, DifyStatusError) and (server_code in INPUT_REJECTED or exc.status_code == 422)
    if rejected or (isinstance(exc, DifyStreamError) and server_code in INPUT_REJECTED):
        if server_code in ("not_chat_app", "not_workflow_app"):
            return int(
                ExitCode.USAGE
            ), hint or "the app's mode does not fit; `difyctl apps show APP` shows it"
        return int(
            ExitCode.USAGE
        ), hint or "the server refused an input: check the --input / --inputs-file values"
    return code, hint


def known_errors() -> tuple[type[BaseException], ...]:
    """The exception types the CLI boundary renders as one line. The client's are only looked up when
    the client was imported (it brings httpx): an error before any request costs no import."""
    client_errors = sys.modules.get("difyctl.client.errors")
    if client_errors is None:
        return (DifyctlError,)
    return (DifyctlError, client_errors.DifyError)
