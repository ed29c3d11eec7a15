"""CI's per-package coverage floors (.ci/coverage_floors.py) fail a package below 95 %, alone."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import coverage
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "coverage_floors.py"


def _floors() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coverage_floors", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data(tmp_path: Path, covered: dict[str, tuple[int, int]]) -> Path:
    """A .coverage file: for each package, a 20-line module of which `hit` lines ran."""
    data_file = tmp_path / ".coverage"
    data = coverage.CoverageData(basename=str(data_file))
    lines: dict[str, list[int]] = {}
    for package, (hit, total) in covered.items():
        source = tmp_path / "difyctl" / package / "mod.py"
        source.parent.mkdir(parents=True)
        source.write_text("".join(f"x{n} = {n}\n" for n in range(total)))
        lines[str(source)] = list(range(1, hit + 1))
    data.add_lines(lines)
    data.write()
    return data_file


def test_every_package_at_or_above_its_floor_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    floors = _floors()
    data_file = _data(tmp_path, dict.fromkeys(floors.FLOORS, (19, 20)))
    assert floors.main(["coverage_floors.py", str(data_file)]) == 0
    assert capsys.readouterr().out.count("95.00 %") == len(floors.FLOORS)


def test_one_package_below_its_floor_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    floors = _floors()
    covered = dict.fromkeys(floors.FLOORS, (20, 20))
    covered["release"] = (18, 20)  # 90 %: the others' 100 % must not hide it
    assert floors.main(["coverage_floors.py", str(_data(tmp_path, covered))]) == 1
    out, err = capsys.readouterr()
    assert "difyctl/release/" in out and "BELOW 95 %" in out and "release" in err


def test_no_data_is_a_usage_error(tmp_path: Path) -> None:
    assert _floors().main(["coverage_floors.py", str(tmp_path / "none")]) == 2


def test_ci_enforces_the_floors() -> None:
    run = (SCRIPT.parent / "run").read_text()
    assert "coverage_floors.py" in run and "--cov=difyctl.release" in run and "--cov=difyctl.change" in run
    # change/ holds the engine that came out of snapshots/ and release/ (issue 12): same floor
    assert set(_floors().FLOORS) == {
        "client",
        "snapshots",
        "rotation",
        "broadcast",
        "validation",
        "release",
        "change",
    }
    assert min(_floors().FLOORS.values()) >= 95.0
