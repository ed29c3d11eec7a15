"""One spelling per concept: the short flags, stdin flag and help placeholders of every command.

This is the one place they are written down: `docs/help.md` opens with a table rendered from here,
and `tests/commands/test_conventions.py` walks the whole command tree against these rules, so a new command
keeps them. Only the standard library is imported (start-up budget).
"""

from __future__ import annotations

import sys
from typing import Any

# A short flag means one thing everywhere (and -h is --help).
SHORT_FLAGS: dict[str, str] = {
    "-a": "--app",
    "-c": "--concurrency",
    "-d": "--dir",
    "-e": "--email",
    "-f": "--file",
    "-i": "--input",
    "-k": "--keep",
    "-m": "--message",
    "-n": "--name",
    "-o": "--output",
    "-p": "--profile",
    "-s": "--stream",
    "-t": "--tag",
    "-v": "--verbose",
    "-y": "--yes",
}

# Short flags that meant something else in one command: the old use still works for one release and
# prints a one-line deprecation notice on stderr. {command path: {old short: the long name it meant}}
DEPRECATED_SHORTS: dict[tuple[str, ...], dict[str, str]] = {
    ("apps", "list"): {"-m": "--mode"},
    ("run",): {"-c": "--conversation"},
    ("validate",): {"-f": "--field", "-s": "--schema"},
}

# Reading a secret or a document from standard input is `--stdin` everywhere; the older names
# (`--password-stdin`, `--key-stdin`, `--value-stdin`) stay as aliases.
STDIN_FLAG = "--stdin"

# What a value stands for in `--help` (and nothing else).
PLACEHOLDERS: dict[str, str] = {
    "APP": "an app id, name or alias",
    "FILE": "a file path (`-` is standard input where the help says so)",
    "DIR": "a directory",
    "N": "a number (the help says its unit and range)",
    "SECONDS": "a duration in seconds",
    "KEY=VALUE": "a key and its value",
    "URL": "a URL",
    "NAME": "a name: profile, tag, variable, secret, provider, mode",
    "TEXT": "free text: a query, a message, a filter",
    "ID": "a server id: conversation, key, workflow version",
    "FORMAT": "an output format: text, json or yaml",
}


def deprecation_notice(short: str, meant: str, path: tuple[str, ...]) -> str:
    now = SHORT_FLAGS.get(short)
    elsewhere = f"; {short} is {now} in every other command" if now else ""
    command = " ".join(("difyctl", *path, short))
    return f"`{command}` is deprecated and goes in the next release: use {meant}{elsewhere}"


def rewrite_deprecated(args: list[str], path: tuple[str, ...], notice: Any = None) -> list[str]:
    """`args` with each deprecated short of `path` spelled as the long name it meant; one notice each."""
    table = DEPRECATED_SHORTS.get(path)
    if not table:
        return args
    out: list[str] = []
    rest = iter(args)
    for token in rest:
        if token == "--":
            out.append(token)
            out.extend(rest)
            break
        short = token[:2]
        if short in table and token.startswith("-") and not token.startswith("--"):
            (notice or _stderr)(deprecation_notice(short, table[short], path))
            out.append(table[short])
            if len(token) > 2:  # -fVALUE
                out.append(token[2:])
            continue
        out.append(token)
    return out


def _stderr(text: str) -> None:
    sys.stderr.write(f"warning: {text}\n")


# -- rendering: arguments as `APP`, `[APP]`, `[APP]...` (typer writes `{APP}`, `[[APP]...]...`) ------
def _argument_name(param: Any) -> str:
    name = str(param.metavar or param.name.upper())
    return f"{name}..." if param.nargs != 1 else name


def _usage_name(param: Any) -> str:
    name = _argument_name(param)
    return name if param.required else f"[{name}]"


def apply(command: Any, path: tuple[str, ...]) -> None:
    """Give `command` (and its subcommands) the deprecated-short rewrite and plain argument names."""
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") == "argument":
            param._rich_display_name = lambda p=param: _argument_name(p)
            param._usage_display_name = lambda p=param: _usage_name(p)
            param.display_type_rich = lambda ctx: None  # noqa: ARG005 - the name says it
    if path in DEPRECATED_SHORTS:
        parse_args = command.parse_args

        def parse_with_rewrite(ctx: Any, args: list[str]) -> Any:
            return parse_args(ctx, rewrite_deprecated(list(args), path, _notice_for(ctx)))

        command.parse_args = parse_with_rewrite
    for name, sub in getattr(command, "commands", {}).items():
        apply(sub, (*path, name))


def _notice_for(ctx: Any) -> Any:
    """The output sink's warning line when the invocation has one (cli.Invocation), else stderr."""
    out = getattr(getattr(ctx.find_root(), "obj", None), "out", None)
    if callable(out):
        return lambda text: out().warn(text)
    return _stderr


def markdown() -> str:
    """The conventions table that opens docs/help.md."""
    lines = ["## Conventions\n", "Short flags mean one thing in every command:\n"]
    lines += ["| short | long |", "|---|---|"]
    lines += [f"| `{s}` | `{long}` |" for s, long in sorted(SHORT_FLAGS.items())]
    lines += ["", "Deprecated for one release (a one-line notice on stderr when used):\n"]
    lines += ["| command | short | now spelled |", "|---|---|---|"]
    for path, table in DEPRECATED_SHORTS.items():
        lines += [f"| `{' '.join(path)}` | `{s}` | `{meant}` |" for s, meant in table.items()]
    lines += ["", f"Standard input: `{STDIN_FLAG}` (older names stay as aliases)."]
    lines += ["`-v/--verbose` is accepted by every command.\n"]
    lines += ["Placeholders:\n", "| placeholder | stands for |", "|---|---|"]
    lines += [f"| `{p}` | {what} |" for p, what in PLACEHOLDERS.items()]
    return "\n".join(lines) + "\n"
