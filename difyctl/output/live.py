"""rich-backed live widgets (progress bars). Imported lazily by difyctl.output."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from difyctl.output.safe import cell


class _RichProgress:
    def __init__(self, progress: Progress, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, n: int = 1, *, label: str | None = None) -> None:
        if label is not None:
            self._progress.update(self._task, advance=n, description=cell(label))
        else:
            self._progress.advance(self._task, n)


@contextmanager
def rich_progress(console: Any, total: int | None, label: str) -> Iterator[_RichProgress]:
    columns = [
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(cell(label), total=total)
        yield _RichProgress(progress, task)
