"""Where a new key is delivered besides the keyring.

`dotenv:PATH:VAR`: the VAR line of a dotenv file replaced (its quotes and any trailing comment
kept) or appended; every other byte of the file is kept (comments, order, CRLF line ends, a missing
final newline). The write is atomic (temp file + rename) and keeps the file's mode, owner and group;
a symlink is written through to its target (the link stays). A new file is created 0600. `{ALIAS}`
in VAR becomes the app's name as in DIFY_API_KEY_<ALIAS>, so one sink serves `rotate --all`.

`exec:COMMAND`: run WITHOUT a shell, the key in its environment as DIFY_NEW_API_KEY, never on its
command line. So `$DIFY_...` on the command line would reach the program literally: refused unless
the command is a shell's `-c` (`exec:'sh -c "..."'`), as are shell builtins and unknown programs.

Sinks are idempotent: delivering the same key twice is harmless. A sink's `name` is its spec (the
dotenv path, and an exec program given as a relative path, made absolute): the journal keeps it so
`--resume` can rebuild the sink.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from difyctl.errors import DifyctlError, UsageError
from difyctl.fsutil import atomic_write
from difyctl.redact import redact_text

EXEC_TIMEOUT_S = 120.0
_VAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\{ALIAS\}[A-Za-z0-9_]*)?")
ALIAS = "{ALIAS}"


class SinkError(DifyctlError):
    """A sink could not deliver the key (the message never holds it)."""


class Sink(Protocol):
    @property
    def name(self) -> str: ...

    def deliver(self, key: str, context: Mapping[str, str]) -> None: ...


@dataclass(frozen=True)
class DotenvSink:
    path: Path
    var: str

    @property
    def name(self) -> str:
        return f"dotenv:{self.path}:{self.var}"

    @property
    def per_app(self) -> bool:
        return ALIAS in self.var

    def var_for(self, context: Mapping[str, str]) -> str:
        if not self.per_app:
            return self.var
        from difyctl.config import alias_env_name

        alias = alias_env_name(context.get("DIFY_APP_NAME", "")).removeprefix("DIFY_API_KEY_")
        return self.var.replace(ALIAS, alias)

    def deliver(self, key: str, context: Mapping[str, str]) -> None:
        target = Path(os.path.realpath(self.path)) if self.path.is_symlink() else self.path
        try:
            try:
                st: os.stat_result | None = os.stat(target)
                raw = target.read_bytes()
            except FileNotFoundError:
                st, raw = None, b""
            text = raw.decode("utf-8", "surrogateescape")
            data = replace_var(text, self.var_for(context), key).encode("utf-8", "surrogateescape")
            if st is None:
                atomic_write(target, data, mode=0o600)
            else:
                atomic_write(target, data, mode=stat.S_IMODE(st.st_mode), owner=(st.st_uid, st.st_gid))
        except PermissionError as exc:
            raise SinkError(
                f"sink {self.name} failed: {exc.strerror or exc} (difyctl must be able to write the folder "
                f"of {target} and keep the file's owner and group)"
            ) from None
        except OSError as exc:
            raise SinkError(f"sink {self.name} failed: {exc.strerror or exc}") from None


def replace_var(text: str, var: str, value: str) -> str:
    """`VAR=value` (or `export VAR=value`) lines get the new value, in the old one's quotes and with its
    trailing comment; else the line is appended. Every other byte is kept, line ends included."""
    # a byte order mark (a file saved by a Windows editor) belongs to the first line's prefix
    pattern = re.compile(rf"^(\ufeff?\s*(?:export\s+)?{re.escape(var)}\s*=\s*)(.*?)(\r?)$")
    parts = text.split("\n")
    found = False
    for i, part in enumerate(parts):
        m = pattern.match(part)
        if m:
            parts[i] = m.group(1) + _requote(m.group(2), value) + m.group(3)
            found = True
    if found:
        return "\n".join(parts)
    line = f"{var}={value}"
    eol = "\r\n" if "\r\n" in text else "\n"
    if not text:
        return line + "\n"
    if text.endswith("\n"):
        return text + line + eol
    return text + eol + line  # the file had no final newline: it still has none


def _requote(old: str, value: str) -> str:
    """The new value in the old one's quotes, followed by whatever came after them (a comment)."""
    if old[:1] in ("'", '"'):
        end = old.find(old[0], 1)
        return f"{old[0]}{value}{old[0]}" + (old[end + 1 :] if end > 0 else "")
    comment = re.search(r"\s+#.*$", old)
    return value + (comment.group(0) if comment else "")


@dataclass(frozen=True)
class ExecSink:
    command: str
    timeout_s: float = EXEC_TIMEOUT_S

    @property
    def name(self) -> str:
        return f"exec:{self.command}"

    def deliver(self, key: str, context: Mapping[str, str]) -> None:
        env = {**os.environ, **context, "DIFY_NEW_API_KEY": key}
        argv = shlex.split(self.command)
        try:
            done = _run_group(argv, env, self.timeout_s)
        except FileNotFoundError:
            raise SinkError(
                f"sink {self.name} failed: no program {argv[0]!r} (no shell runs exec: commands; "
                f"for a shell command use exec:'sh -c \"...\"')"
            ) from None
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SinkError(f"sink {self.name} failed: {redact_text(str(exc), (key,))}") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout or "").strip().splitlines()[-1:] or [""]
            detail = redact_text(tail[0], (key,))[:200]
            raise SinkError(f"sink {self.name} exited {done.returncode}" + (f": {detail}" if detail else ""))


def _run_group(argv: list[str], env: Mapping[str, str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    """Run argv in its own process group; on a timeout, Ctrl-C or SIGTERM the whole group is killed, so
    the children of a `sh -c` pipeline never run on with the key in their environment."""
    proc = subprocess.Popen(  # noqa: S603 - the user's own command, no shell
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except BaseException:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "fish"})
_BUILTINS = frozenset(
    {".", "source", "exit", "cd", "export", "set", "unset", "eval", "exec", "alias", "read", "trap",
     "return", "shift", "ulimit", "umask", "wait", "local", "declare", "typeset", "readonly", "[[",
     "if", "for", "while", "until", "case", "function", "{", "("}
)  # fmt: skip
_DIFY_VAR = re.compile(r"\$\{?DIFY_")
_SHELL_FORM = 'exec:\'sh -c "printf %s \\"$DIFY_NEW_API_KEY\\" | my-tool"\''


def check_exec(spec: str, command: str) -> list[str]:
    """The argv of an exec sink, or a usage error for what would run but never deliver."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"bad sink {spec!r}: {exc}", hint="check the quotes of the command") from None
    if not argv:
        raise UsageError(f"bad sink {spec!r}", hint="use exec:'COMMAND' (the key is in $DIFY_NEW_API_KEY)")
    runs_shell = Path(argv[0]).name in _SHELLS and "-c" in argv[1:]
    if not runs_shell and any(_DIFY_VAR.search(arg) for arg in argv):
        raise UsageError(
            f"sink {spec!r} names a $DIFY_ variable on its command line, but no shell runs it: the "
            "program would get the literal text, not the key",
            hint=f"let a shell expand it, e.g. {_SHELL_FORM}, or read DIFY_NEW_API_KEY from the environment",
        )
    if shutil.which(argv[0]) is None:
        if argv[0] in _BUILTINS:
            raise UsageError(
                f"sink {spec!r}: {argv[0]!r} is a shell builtin, not a program, and no shell runs exec: "
                "commands",
                hint=f"use exec:'sh -c \"{command}\"'",
            )
        raise UsageError(
            f"sink {spec!r}: no program {argv[0]!r} (not on PATH, or not an executable file)",
            hint="give a program on PATH or the path of an executable; no shell is used",
        )
    return argv


def parse_sink(spec: str) -> Sink:
    """`dotenv:PATH:VAR` or `exec:COMMAND`; anything else is a usage error (exit 2)."""
    kind, _, rest = spec.partition(":")
    if kind == "dotenv":
        path, sep, var = rest.rpartition(":")
        if not sep or not path or not _VAR_RE.fullmatch(var):
            raise UsageError(
                f"bad sink {spec!r}",
                hint="use dotenv:PATH:VAR, e.g. dotenv:.env:DIFY_API_KEY (DIFY_API_KEY_{ALIAS}: many apps)",
            )
        return DotenvSink(Path(path).expanduser().absolute(), var)
    if kind == "exec":
        command = rest.strip()
        argv = check_exec(spec, command)
        if "/" in argv[0] and not os.path.isabs(argv[0]):  # `./x.sh`: the same script on --resume
            command = shlex.join([os.path.abspath(argv[0]), *argv[1:]])
        return ExecSink(command)
    raise UsageError(f"unknown sink {spec!r}", hint="use dotenv:PATH:VAR or exec:'COMMAND'")
