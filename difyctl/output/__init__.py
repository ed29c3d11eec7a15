"""The only place that talks to the terminal. rich is imported lazily, and only here.

`Output` is handed to every command through the AppContext:
- `emit(data, text=...)`  the command's result: JSON/YAML documents on stdout, or a text rendering;
- `info / success / warn / error`  one-line messages on stderr (never mixed into JSON on stdout);
- `table(...)`  a text table on stdout (text mode only);
- `progress(total, label)`  a progress bar on stderr (silent when stderr is not a TTY);
- `stream(chunk)`  text to stdout as it arrives (run --stream).

Everything written as text goes through `difyctl.output.safe`: control characters in server data (app
names, answers, messages) are shown escaped, never interpreted by the terminal. JSON and YAML escape
them by themselves.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, Literal, Protocol

from difyctl.output import safe

OutputFormat = Literal["text", "json", "yaml"]
FORMATS: tuple[str, ...] = ("text", "json", "yaml")


class ProgressHandle(Protocol):
    def advance(self, n: int = 1, *, label: str | None = None) -> None: ...


class _NullProgress:
    def advance(self, n: int = 1, *, label: str | None = None) -> None:  # noqa: ARG002 - no-op sink
        return None


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def to_yaml(data: Any) -> str:
    import yaml

    return str(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False, allow_unicode=True))


def ask_yes_no(question: str, *, stdin: IO[str] | None = None, stderr: IO[str] | None = None) -> bool:
    """`question [y/N] ` on stderr, the answer from stdin. Ctrl-C (or end of input) first ends the prompt
    line, so the message that follows and the shell prompt start on a line of their own."""
    stdin = stdin or sys.stdin
    stderr = stderr or sys.stderr
    stderr.write(f"{safe.text(question)} [y/N] ")
    stderr.flush()
    try:
        answer = stdin.readline()
    except KeyboardInterrupt:
        stderr.write("\n")
        stderr.flush()
        raise
    if not answer.endswith("\n"):  # end of input (Ctrl-D): the terminal echoed no newline
        stderr.write("\n")
        stderr.flush()
    return answer.strip().lower() in ("y", "yes")


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Output:
    format: OutputFormat = "text"
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    color: bool | None = None  # None: auto (TTY and NO_COLOR unset)
    quiet: bool = False

    # -- results (stdout) -------------------------------------------------------------------------
    def emit(self, data: Any, text: Callable[[Output], None] | str | None = None) -> None:
        """Print the command's result in the chosen format. `text` renders the human form."""
        if self.format == "json":
            self._write(self.stdout, to_json(data) + "\n")
        elif self.format == "yaml":
            self._write(self.stdout, to_yaml(data))
        elif callable(text):
            text(self)
        elif isinstance(text, str):
            self.line(text)
        else:
            self._write(self.stdout, to_yaml(data))

    def line(self, text: str = "", *, style: str | None = None) -> None:
        text = safe.text(text)
        if style and self._color_for(self.stdout):
            self._rich(self.stdout).print(text, style=style, markup=False, highlight=False, soft_wrap=True)
        else:
            self._write(self.stdout, text + "\n")

    def stream(self, chunk: str) -> None:
        self.stdout.write(safe.text(chunk))
        self.stdout.flush()

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
        styles: dict[str, str] | None = None,
    ) -> None:
        """A table on stdout: rich on a TTY, plain aligned columns otherwise (stable for grep/awk)."""
        cells = [["" if c is None else safe.cell(str(c)) for c in row] for row in rows]
        if self._color_for(self.stdout):
            from rich.table import Table
            from rich.text import Text

            t = Table(title=title, show_edge=False, header_style="bold")
            for col in columns:
                t.add_column(col, style=(styles or {}).get(col), overflow="fold")
            for row in cells:
                t.add_row(*(Text(c) for c in row))  # Text: a name like "[red]x" is not rich markup
            self._rich(self.stdout).print(t)
            return
        widths = [len(c) for c in columns]
        for row in cells:
            widths = [max(w, len(v)) for w, v in zip(widths, row, strict=False)]
        if title:
            self._write(self.stdout, title + "\n")
        fmt = "  ".join("{:<" + str(w) + "}" for w in widths)
        self._write(self.stdout, fmt.format(*columns).rstrip() + "\n")
        for row in cells:
            self._write(self.stdout, fmt.format(*row).rstrip() + "\n")

    # -- messages (stderr) ------------------------------------------------------------------------
    def info(self, message: str) -> None:
        if not self.quiet:
            self._msg(message, "dim")

    def success(self, message: str) -> None:
        if not self.quiet:
            self._msg(message, "green")

    def warn(self, message: str) -> None:
        self._msg(f"warning: {message}", "yellow")

    def error(self, message: str, hint: str | None = None) -> None:
        self._msg(f"error: {message}", "bold red")
        if hint:
            self._msg(f"hint: {hint}", "dim")

    def command(self, argv: str) -> None:
        """Show a command the user could type (quickstart tour)."""
        self._msg(f"$ {argv}", "bold cyan")

    @contextmanager
    def progress(self, total: int | None, label: str) -> Iterator[ProgressHandle]:
        if self.quiet or not _is_tty(self.stderr):
            yield _NullProgress()
            return
        from difyctl.output.live import rich_progress

        with rich_progress(self._rich(self.stderr), total, label) as handle:
            yield handle

    # -- internals --------------------------------------------------------------------------------
    def _color_for(self, stream: IO[str]) -> bool:
        if self.color is not None:
            return self.color
        if os.environ.get("NO_COLOR"):
            return False
        return _is_tty(stream)

    def _msg(self, message: str, style: str) -> None:
        message = safe.text(message)
        if self._color_for(self.stderr):
            self._rich(self.stderr).print(message, style=style, markup=False, highlight=False, soft_wrap=True)
        else:
            self._write(self.stderr, message + "\n")

    def _rich(self, stream: IO[str]) -> Any:
        from rich.console import Console

        return Console(file=stream, force_terminal=self._color_for(stream), soft_wrap=False)

    @staticmethod
    def _write(stream: IO[str], text: str) -> None:
        stream.write(text)
        stream.flush()
