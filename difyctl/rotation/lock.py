"""One rotation per app at a time: an exclusive lock file (O_CREAT|O_EXCL) holding the owner's pid and
host, and flock()ed by its owner while it runs. A lock whose process is gone is stale and taken over: on
this host a dead pid says so; on any host (a CronJob's next pod, the config dir on a shared volume) a
lock file that nobody holds flock()ed does, since the kernel drops the flock when its process dies, even
by kill -9. A live one makes the second run fail "locked"."""

from __future__ import annotations

import contextlib
import fcntl
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
        self._fd: int | None = None

    def _unheld(self) -> bool:
        """True when no process holds the lock file's flock (so its owner is gone)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return os.fstat(fd).st_ino == os.stat(self.path).st_ino  # still the file we looked at
        except OSError:  # held (EWOULDBLOCK), or a file system without flock: not provably stale
            return False
        finally:
            os.close(fd)

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
                here = host in ("", socket.gethostname())
                if (here and not _alive(pid)) or (not here and self._unheld()):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.path)  # stale: its process is gone
                    continue
                raise LockedError(
                    f"{self.what} is locked: another rotation is running "
                    f"(pid {pid} on {host or 'this host'})",
                    hint=f"wait for it to end; if no rotation runs, remove {self.path}",
                ) from None
            with contextlib.suppress(OSError):  # held until this process ends, however it ends
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
            self._fd, self.held = fd, True
            return
        raise LockedError(f"{self.what} is locked (the lock file keeps coming back)")

    def release(self) -> None:
        if self.held:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            if self._fd is not None:
                os.close(self._fd)
            self._fd, self.held = None, False

    def __enter__(self) -> RotationLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
