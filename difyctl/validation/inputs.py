"""Input for the validate command: whole documents and JSONL lines from files or stdin, bytes first.

Decoding happens per line in the engine, so one bad line (invalid UTF-8, NUL bytes, too long) is a
failed document with its line number, never the end of a batch.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from difyctl.errors import UsageError

MAX_LINE_BYTES = 64 * 1024 * 1024


class InputError(UsageError):
    """The input as a whole is unusable (empty, binary, not UTF-8): exit 2."""


@dataclass(frozen=True)
class LineTooLong:
    size: int
    limit: int


def iter_lines(stream: IO[bytes], max_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes | LineTooLong]:
    """Lines of a binary stream, one at a time; a line over `max_bytes` is skipped and reported."""
    while True:
        chunk = stream.readline(max_bytes + 1)
        if not chunk:
            return
        if len(chunk) > max_bytes and not chunk.endswith(b"\n"):
            size = len(chunk)
            while True:
                more = stream.readline(1 << 20)
                size += len(more)
                if not more or more.endswith(b"\n"):
                    break
            yield LineTooLong(size, max_bytes)
        else:
            yield chunk


def read_document(stream: IO[bytes], max_bytes: int = 512 * 1024 * 1024) -> str:
    """A whole single document as text; empty, binary or non-UTF-8 input is an InputError (exit 2)."""
    raw = stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise InputError(f"input is over {max_bytes} bytes", hint="use --jsonl for one document per line")
    if not raw.strip():
        raise InputError("input is empty")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise InputError(f"input looks binary (NUL byte at offset {nul}), not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"input is not UTF-8 text (invalid byte at offset {exc.start})") from None


@contextmanager
def open_input(name: str | None) -> Iterator[IO[bytes]]:
    """`-` (or None) for stdin, else a file, opened in binary (lines are decoded one by one)."""
    if name in (None, "-"):
        if _is_tty(sys.stdin):
            raise InputError("no input: give a FILE, or pipe the answers in", hint="difyctl validate --help")
        buffer = getattr(sys.stdin, "buffer", None)  # a text-only stdin (tests, embedding) is encoded back
        yield buffer or io.BytesIO(sys.stdin.read().encode("utf-8", "surrogateescape"))
        return
    try:
        stream = open(name, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    with stream:
        yield stream


def _is_tty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def write_report(path: str | Path, text: str) -> None:
    try:
        Path(path).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the report {path}: {exc.strerror or exc}") from None
