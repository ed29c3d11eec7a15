"""The start-up shortcut of difyctl.cli.lazy coerces what typer would, and leaves every error to typer.

typer 0.29 coerces parameters through pydantic (~180 ms of `broadcast`'s start-up to import and
build). `plain_coercion` answers the plain cases itself; these tests run the same command line through
a command with the shortcut and one without, and require the same value or the same error text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import pytest
import typer
import typer.main

from difyctl.cli.lazy import plain_coercion

SEEN: dict[str, Any] = {}


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def cmd(
        count: Annotated[int, typer.Option("--count", min=1, max=50)] = 16,
        ratio: Annotated[Optional[float], typer.Option("--ratio", min=0.001)] = None,  # noqa: UP045
        path: Annotated[Optional[Path], typer.Option("--path")] = None,  # noqa: UP045
        must: Annotated[Optional[Path], typer.Option("--must", exists=True, dir_okay=False)] = None,  # noqa: UP045
        name: Annotated[str, typer.Option("--name")] = "x",
        tags: Annotated[Optional[list[str]], typer.Option("--tag")] = None,  # noqa: UP045
        loud: Annotated[bool, typer.Option("--loud")] = False,
    ) -> None:
        SEEN.update(count=count, ratio=ratio, path=path, must=must, name=name, tags=tags, loud=loud)

    return app


def _outcome(argv: list[str], plain: bool) -> tuple[str, Any]:
    command = typer.main.get_command(_app())
    if plain:
        plain_coercion(command)
    SEEN.clear()
    try:
        command.main(argv, standalone_mode=False)
    except Exception as exc:  # noqa: BLE001 - the error itself is what is compared
        return ("error", f"{type(exc).__name__}: {exc}")
    return ("ok", {k: (v, type(v).__name__) for k, v in SEEN.items()})


def _plain_params() -> list[str]:
    command = typer.main.get_command(_app())
    plain_coercion(command)
    return [
        p.name for p in command.params if type(getattr(p, "_runtime_param", None)).__name__ == "PlainParam"
    ]


CASES = [
    [],
    ["--count", "7"],
    ["--count", "007"],
    ["--count", "-3"],
    ["--count", "0"],
    ["--count", "51"],
    ["--count", "50"],
    ["--count", "1_0"],
    ["--count", " 5"],
    ["--count", "abc"],
    ["--count", "٣"],
    ["--count", "2.0"],
    ["--count", "1" * 4301],  # past int()'s 4300-digit limit: typer's error, not a ValueError
    ["--count", "0" * 4400 + "7"],  # leading zeros count towards that limit; pydantic reads 7
    ["--ratio", "1" * 4301],
    ["--ratio", "2.5"],
    ["--ratio", "3"],
    ["--ratio", "0"],
    ["--ratio", "1e3"],
    ["--ratio", "nan"],
    ["--ratio", "-1"],
    ["--path", "a/b.yaml"],
    ["--path", "."],
    ["--path", "-"],
    ["--must", "missing.yaml"],
    ["--must", "missing/"],  # typer names the value as typed, not as Path() normalises it
    ["--must", "./missing.yaml"],
    ["--path", "a\x00b"],  # typer's usage error, not a bare ValueError
    ["--name", "ünï", "--tag", "a", "--tag", "b", "--loud"],
]


@pytest.mark.parametrize("argv", CASES, ids=lambda a: " ".join(a)[:40] or "defaults")
def test_the_shortcut_gives_typers_value_or_typers_error(argv: list[str]) -> None:
    assert _outcome(argv, plain=True) == _outcome(argv, plain=False)


def test_an_existing_file_passes_typers_path_checks_and_a_folder_fails_them(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text("x")
    for argv in (["--must", str(tmp_path / "f.yaml")], ["--must", str(tmp_path)]):
        assert _outcome(argv, plain=True) == _outcome(argv, plain=False)
    assert _outcome(["--must", str(tmp_path)], plain=True)[0] == "error"  # dir_okay=False still holds


def test_the_shortcut_covers_the_plain_parameters() -> None:
    # Without this the parity tests above would pass with the shortcut switched off.
    assert set(_plain_params()) >= {"count", "ratio", "path", "must", "name", "tags", "loud"}
