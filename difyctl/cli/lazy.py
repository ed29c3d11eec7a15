"""A root command group whose subcommands are built on first use.

Typer turns every command's signature into click parameters up front (inspect + get_type_hints
for ~30 commands: tens of milliseconds). `difyctl --help` only needs each command's one-line help,
and `difyctl run ...` only needs `run`, so the root group below builds a subcommand the first time
click asks for it and lists the others from their registration (name + docstring) alone.
A test checks that the lazy tree and typer's eager tree agree on every command.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
from pathlib import Path
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup

from difyctl.cli import conventions


def _short(text: str | None, limit: int) -> str:
    """The first sentence of the first paragraph, cut at a word boundary to fit `limit`."""
    first = " ".join((text or "").strip().split("\n\n")[0].split())
    end = re.search(r"(?<!\be\.g)(?<!\bi\.e)\.\s+(?=[A-Z])", first)  # a sentence end, not "e.g. x"
    if end is not None:
        first = first[: end.start() + 1]
    if len(first) <= limit:
        return first
    cut = first[: max(limit - 3, 1)]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(",;:") + "..."


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)  # typer's DefaultPlaceholder


class LazyGroup(TyperGroup):
    """Subcommands come from a Typer app's registrations and are built when first needed."""

    _source: typer.Typer | None = None
    _entries: dict[str, Any]
    decorate: Any = None  # applied to each subcommand once built (e.g. shared options)

    def attach(self, source: typer.Typer, order: list[str] | None = None) -> None:
        """`order` lists command names in the order `--help` shows them (typer keeps commands and
        groups in two lists, so registration order alone cannot interleave them)."""
        self._source = source
        self._entries = {}
        for info in source.registered_commands:
            name = info.name or typer.main.get_command_name(info.callback.__name__ if info.callback else "")
            self._entries[name] = info
        for group in source.registered_groups:
            if group.name:
                self._entries[str(group.name)] = group
        if order:
            rank = {name: i for i, name in enumerate(order)}
            self._entries = dict(sorted(self._entries.items(), key=lambda kv: rank.get(kv[0], len(rank))))

    def invoke(self, ctx: Any) -> Any:
        """Ctrl-C inside a command reaches the error boundary (`cli.run`) as `Interrupted`: typer would
        turn it into a silent exit 130, and the user would not see that anything happened."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            from difyctl.errors import Interrupted

            raise Interrupted("interrupted") from None

    def list_commands(self, ctx: Any) -> list[str]:  # noqa: ARG002
        return list(self._entries) if self._source is not None else list(self.commands)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:  # noqa: ARG002
        if cmd_name in self.commands or self._source is None:
            return self.commands.get(cmd_name)
        info = self._entries.get(cmd_name)
        if info is None:
            return None
        src = self._source
        if isinstance(info, typer.models.TyperInfo):
            built: Any = typer.main.get_group_from_info(
                info,
                pretty_exceptions_short=src.pretty_exceptions_short,
                suggest_commands=src.suggest_commands,
                rich_markup_mode=src.rich_markup_mode,
            )
        else:
            built = typer.main.get_command_from_info(
                info,
                pretty_exceptions_short=src.pretty_exceptions_short,
                rich_markup_mode=src.rich_markup_mode,
            )
        if self.decorate is not None:
            built = self.decorate(built)
        self.commands[cmd_name] = built
        plain_coercion(built)
        conventions.apply(built, (cmd_name,))
        return built

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if self._source is not None and args and not args[0].startswith("-") and args[0] not in self._entries:
            matches = difflib.get_close_matches(args[0], list(self._entries))
            hint = f" Did you mean {', '.join(repr(m) for m in matches)}?" if matches else ""
            ctx.fail(f"No such command {args[0]!r}.{hint}")
        return super().resolve_command(ctx, args)

    def help_of(self, name: str) -> str:
        info = self._entries[name]
        if isinstance(info, typer.models.TyperInfo):
            instance = info.typer_instance
            return str(_plain(info.help) or (_plain(instance.info.help) if instance else "") or "")
        return str(_plain(info.help) or inspect.getdoc(info.callback) or "")

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        if self._source is None:
            super().format_commands(ctx, formatter)
            return
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = [(name, _short(self.help_of(name), limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def build_root(app: typer.Typer, order: list[str] | None = None, decorate: Any = None) -> Any:
    """The click command for `app`: its root callback and options now, its subcommands on demand."""
    shell = typer.Typer(
        name=_plain(app.info.name),
        help=_plain(app.info.help),
        epilog=_plain(app.info.epilog),
        no_args_is_help=bool(_plain(app.info.no_args_is_help)),
        context_settings=_plain(app.info.context_settings),
        cls=LazyGroup,
        pretty_exceptions_enable=False,
        rich_markup_mode=app.rich_markup_mode,
        add_completion=app._add_completion,
    )
    shell.registered_callback = app.registered_callback
    root = typer.main.get_command(shell)
    assert isinstance(root, LazyGroup)
    root.attach(app, order)
    root.decorate = decorate
    plain_coercion(root)
    return root


# -- start-up: plain parameters coerced without pydantic ------------------------------------------
# typer 0.29 coerces every parameter through a pydantic TypeAdapter built on first use, and click
# processes every parameter of a command (even unset ones): `difyctl run --help` paid ~90 ms importing
# pydantic for `--profile` and `--output`, and `broadcast` ~180 ms (of a 0.44 s start-up) for its int
# and Path options. A CLI value of a `str`, `bool` or `list[str]` parameter is already that type; a
# decimal int or float inside its min/max is `int(value)` / `float(value)`; a Path goes through
# typer's own path checks (exists, dir_okay, ...). Anything else (a bad value, a clamp, a custom
# parser) falls back to typer, so its error messages are typer's own.
_MAX_DIGITS = 4000  # longer: typer's error (int() refuses > 4300 digits with a bare ValueError)
_DECIMAL = {int: re.compile(r"-?[0-9]+"), float: re.compile(r"-?[0-9]+(?:\.[0-9]+)?")}


def _plain_number(kind: type[Any], value: Any, info: Any) -> Any:
    """`value` as an int or float when it is plainly one and inside min/max; None to ask typer."""
    number: int | float
    if type(value) is kind:
        number = value
    elif isinstance(value, str) and len(value) <= _MAX_DIGITS and _DECIMAL[kind].fullmatch(value):
        number = kind(value)
    else:
        return None
    if (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
        return None  # typer says why
    return number


def _plain_param_class() -> Any:
    try:
        from typer._click.exceptions import BadParameter
        from typer._coercion import RuntimeParam, build_runtime_param
        from typer._param_types import coerce_cli_path
    except ImportError:  # pragma: no cover - a typer without this layer: nothing to speed up
        return None

    @dataclasses.dataclass(frozen=True)
    class PlainParam(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            annotation = self.annotation
            if value is None and annotation is float:  # an unset --timeout: nothing to coerce
                return None
            if annotation is str and isinstance(value, str):
                return value
            if annotation is bool and isinstance(value, bool):
                return value
            if annotation is int or annotation is float:
                number = _plain_number(annotation, value, self.parameter_info)
                if number is not None:
                    return number
            elif annotation is Path:
                if isinstance(value, str | Path) and str(value):
                    path = Path(value)  # what pydantic's Path makes of a str, without pydantic
                    try:
                        return coerce_cli_path(
                            path, self.parameter_info, path_type=Path, param=param, ctx=ctx
                        )
                    except (BadParameter, ValueError):  # typer's message names the value as typed
                        pass
            elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                return list(value)
            return build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)

    return PlainParam


_PLAIN: Any = None
_PLAIN_TYPES = (str, bool, float, int, Path)


def plain_coercion(command: Any) -> None:
    """Give the plain parameters of `command` (and of its subcommands) the pydantic-free coercion."""
    global _PLAIN
    if _PLAIN is None:
        _PLAIN = _plain_param_class() or False
    if not _PLAIN:
        return
    for param in getattr(command, "params", []):
        _plain_param(param)
    builtin_help = getattr(command, "get_help_option", None)
    if builtin_help is not None:  # -h/--help is made on first use: give it the plain coercion then

        def get_help_option(ctx: Any) -> Any:
            option = builtin_help(ctx)
            if option is not None:
                _plain_param(option)
            return option

        command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        plain_coercion(sub)


def _plain_param(param: Any) -> None:
    desc = getattr(param, "type_descriptor", None)
    if desc is None or desc.file_annotation is not None:
        return
    if getattr(param, "_runtime_param", 1) is not None:  # built already, or not typer's layer
        return
    info = desc.parameter_info
    if info.parser is not None or info.clamp or info.path_type is not None:
        return  # typer's own adapter
    if desc.annotation in _PLAIN_TYPES or desc.annotation == list[str]:
        param._runtime_param = _PLAIN(parameter_info=desc.parameter_info, annotation=desc.annotation)
