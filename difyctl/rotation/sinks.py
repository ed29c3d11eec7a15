"""Where a new key is delivered besides the keyring: `dotenv:PATH:VAR` (the VAR line of a dotenv
file replaced or appended, other lines untouched, written atomically with mode 0600; `{ALIAS}` in
VAR becomes the app's name as in DIFY_API_KEY_<ALIAS>, so one sink serves `rotate --all`) and
`exec:COMMAND` (run without a shell, the key in its environment as DIFY_NEW_API_KEY, never on
its command line). Sinks are idempotent: delivering the same key twice is harmless."""

from __future__ import annotations

import os
import re
import shlex
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
        try:
            text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
            atomic_write(self.path, replace_var(text, self.var_for(context), key), mode=0o600)
        except OSError as exc:
            raise SinkError(f"sink {self.name} failed: {exc.strerror or exc}") from None


def replace_var(text: str, var: str, value: str) -> str:
    """`VAR=value` (or `export VAR=value`) replaced in place, else appended; other lines kept as is."""
    pattern = re.compile(rf"^(\s*(?:export\s+)?){re.escape(var)}\s*=.*$")
    lines = text.splitlines(keepends=True)
    found = False
    for i, line in enumerate(lines):
        m = pattern.match(line.rstrip("\r\n"))
        if m:
            ending = line[len(line.rstrip("\r\n")) :] or "\n"
            lines[i] = f"{m.group(1)}{var}={value}{ending}"
            found = True
    if not found:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(f"{var}={value}\n")
    return "".join(lines)


@dataclass(frozen=True)
class ExecSink:
    command: str
    timeout_s: float = EXEC_TIMEOUT_S

    @property
    def name(self) -> str:
        return f"exec:{self.command}"

    def deliver(self, key: str, context: Mapping[str, str]) -> None:
        env = {**os.environ, **context, "DIFY_NEW_API_KEY": key}
        try:
            done = subprocess.run(  # noqa: S603 - the user's own command, no shell
                shlex.split(self.command),
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SinkError(f"sink {self.name} failed: {redact_text(str(exc), (key,))}") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout or "").strip().splitlines()[-1:] or [""]
            detail = redact_text(tail[0], (key,))[:200]
            raise SinkError(f"sink {self.name} exited {done.returncode}" + (f": {detail}" if detail else ""))


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
        return DotenvSink(Path(path).expanduser(), var)
    if kind == "exec":
        if not rest.strip():
            raise UsageError(
                f"bad sink {spec!r}", hint="use exec:'COMMAND' (the key is in $DIFY_NEW_API_KEY)"
            )
        shlex.split(rest)
        return ExecSink(rest.strip())
    raise UsageError(f"unknown sink {spec!r}", hint="use dotenv:PATH:VAR or exec:'COMMAND'")
