"""Every command is short: it parses, calls an engine, renders and returns (issue 15, item 7).

The size of a command is the number of source lines of its body that hold code: the docstring,
decorators, the signature, blank lines and comment lines do not count. A command over the limit has
logic that belongs in an engine or a `commands/_*.py` helper.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

from difyctl.cli import app
from tests.test_command_endings import _callbacks

LIMIT = 30

# A command that truly cannot shrink, with its size and why (none today). An entry is a debt: the
# test fails when that command grows, or when it shrinks and the entry is not lowered or removed.
ALLOWED: dict[str, int] = {}


def body_lines(func: Callable[..., Any]) -> int:
    """Lines of code in the body of `func`, without its docstring and comment or blank lines."""
    source = textwrap.dedent(inspect.getsource(func))
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring (--help text)
    if not body:
        return 0
    lines = source.splitlines()[body[0].lineno - 1 : body[-1].end_lineno]
    return sum(1 for line in lines if line.strip() and not line.strip().startswith("#"))


def sizes() -> dict[str, int]:
    return {f"{f.__module__}.{f.__name__}": body_lines(f) for f in _callbacks(app)}


def test_the_measure_counts_code_only() -> None:
    def sample(x: int) -> int:
        """Docs
        on two lines."""
        # a comment

        y = x + 1
        return sum(  # a call spread over lines counts each line
            [y, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]
        )

    assert body_lines(sample) == 4


def test_every_command_is_short() -> None:
    measured = sizes()
    assert len(measured) > 30
    over = {name: n for name, n in measured.items() if n > LIMIT and n > ALLOWED.get(name, 0)}
    assert not over, f"commands over {LIMIT} lines of logic: move the logic into an engine: {over}"
    stale = {name: n for name, n in ALLOWED.items() if measured.get(name, 0) < n}
    assert not stale, f"shorter than ALLOWED says: lower or remove its entry: {stale}"
