"""One rotation per app at a time: an exclusive lock file (O_CREAT|O_EXCL) holding the owner's pid.
A lock whose process is gone is stale and taken over; a live one makes the second run fail "locked"."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from types import TracebackType

from difyctl.errors import DifyctlError
from difyctl.fsutil import ensure_private_dir


class LockedError(DifyctlError):
    """Another rotation of this app is running."""


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RotationLock:
    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        self.held = False

    def _owner(self) -> tuple[int, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return int(data.get("pid", 0)), str(data.get("host", ""))
        except (OSError, ValueError, AttributeError):
            return 0, ""

    def acquire(self) -> None:
        ensure_private_dir(self.path.parent)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                pid, host = self._owner()
                if host in ("", socket.gethostname()) and not _alive(pid):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.path)  # stale: its process is gone
                    continue
                raise LockedError(
                    f"{self.what} is locked: another rotation is running "
                    f"(pid {pid} on {host or 'this host'})",
                    hint=f"wait for it to end; if no rotation runs, remove {self.path}",
                ) from None
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"pid": os.getpid(), "host": socket.gethostname()}, fh)
            self.held = True
            return
        raise LockedError(f"{self.what} is locked (the lock file keeps coming back)")

    def release(self) -> None:
        if self.held:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            self.held = False

    def __enter__(self) -> RotationLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
