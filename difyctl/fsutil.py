"""Atomic, permission-aware file writes: a temp file in the same folder, fsync, then os.replace."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

# Every temp file of a write in progress starts with this: listings (snapshots/paths.is_temp_file)
# skip what a kill -9 between mkstemp and os.replace left behind.
TEMP_PREFIX = ".tmp-"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) with mode 0700 for the leaf; tighten an existing leaf."""
    path.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    return path


def atomic_write(
    path: Path, data: bytes | str, *, mode: int = 0o644, owner: tuple[int, int] | None = None
) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never half of either.

    The temp file gets `mode` before the first byte is written and before the rename, so a 0600 file
    is never readable by others, not even for a moment. `owner` (uid, gid) is given to the temp file
    before the rename (replacing a file keeps its owner and group); a PermissionError when that is not
    allowed, nothing replaced."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:  # the folder usually exists: no mkdir syscall per write (snapshot --all writes 400 files)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=f".{path.name}.tmp")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=f".{path.name}.tmp")
    try:
        if owner is not None and owner != (os.fstat(fd).st_uid, os.fstat(fd).st_gid):
            os.fchown(fd, *owner)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
