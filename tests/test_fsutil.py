"""The one atomic_write (difyctl.fsutil): the mode is on the temp file before any byte is written,
so a secret file is never readable by others, not even for a moment; readers see old or new."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from difyctl import fsutil
from difyctl.snapshots.paths import is_temp_file


def test_mode_is_set_before_the_first_byte_and_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    target = folder / "secret.yaml"
    target.write_text("old\n")
    os.chmod(target, 0o644)
    seen: list[tuple[str, int]] = []
    real_fdopen, real_replace = os.fdopen, os.replace

    class Watching:
        def __init__(self, fd: int, mode: str) -> None:
            self.fh = real_fdopen(fd, mode)

        def __enter__(self) -> Watching:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, data: bytes) -> int:
            seen.append(("write", stat.S_IMODE(os.fstat(self.fh.fileno()).st_mode)))
            return self.fh.write(data)

        def flush(self) -> None:
            self.fh.flush()

        def fileno(self) -> int:
            return self.fh.fileno()

    def replace(src: Any, dst: Any) -> None:
        seen.append(("replace", stat.S_IMODE(os.stat(src).st_mode)))
        assert is_temp_file(Path(src)), src  # listings skip a write in progress
        real_replace(src, dst)

    monkeypatch.setattr(os, "fdopen", Watching)
    monkeypatch.setattr(os, "replace", replace)
    fsutil.atomic_write(target, "new\n", mode=0o640)
    monkeypatch.undo()
    assert seen == [("write", 0o640), ("replace", 0o640)]
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in folder.iterdir()) == ["secret.yaml"]


def test_a_private_file_replacing_a_public_one_is_private(tmp_path: Path) -> None:
    target = tmp_path / "creds.yaml"
    target.write_text("public\n")
    os.chmod(target, 0o644)
    fsutil.atomic_write(target, b"token: x\n", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes() == b"token: x\n"


def test_missing_folders_are_created_and_an_existing_one_costs_no_mkdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a" / "b" / "f.json"
    fsutil.atomic_write(target, "one")
    assert target.read_text() == "one"
    made: list[Path] = []
    real = Path.mkdir

    def spy(self: Path, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", spy)
    fsutil.atomic_write(target, "two")
    fsutil.atomic_write(tmp_path / "c" / "g.json", "three")
    assert target.read_text() == "two" and (tmp_path / "c" / "g.json").read_text() == "three"
    assert made == [tmp_path / "c"]  # one syscall saved per write: snapshot --all writes 400 files
