"""`--jsonl FILE`: one line per target, appended as each target completes (crash-safe).

The file is opened (append mode) BEFORE the fan-out. Each line is written by one dedicated writer
thread: `write(full line)` + `flush` + `os.fsync`. fsync can take milliseconds on a real disk, so it
never runs on the event loop: the engine's callback only hands the serialised line to the thread
(`Executor.submit`, microseconds). One thread means lines are written in completion order and never
interleave; a crash loses at most the lines still queued, never leaves half a line from a completed
`write` + `fsync`. `close()` waits for the queue to drain, then closes the file.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING

from difyctl.errors import UsageError

if TYPE_CHECKING:
    from difyctl.broadcast.results import TargetResult


class JsonlSink:
    def __init__(self, path: Path) -> None:
        try:
            self._file: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise UsageError(f"cannot open {path} for appending: {exc.strerror or exc}") from exc
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="difyctl-jsonl")
        self._pending: list[Future[None]] = []
        self.lines = 0

    def write(self, result: TargetResult) -> None:
        """Called on the event loop: serialise (cheap) and hand over; never blocks on the disk."""
        line = json.dumps(result.to_dict(), ensure_ascii=False, default=str) + "\n"
        self._pending.append(self._pool.submit(self._write_line, line))

    def _write_line(self, line: str) -> None:
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())
        self.lines += 1

    def close(self) -> None:
        try:
            self._pool.shutdown(wait=True)
            for future in self._pending:
                future.result()  # surface a write error (disk full) instead of losing it
        finally:
            self._file.close()

    def __enter__(self) -> JsonlSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
