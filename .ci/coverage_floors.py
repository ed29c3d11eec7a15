"""Per-package line-coverage floors, checked on the .coverage file of the CI test run.

One `--cov-fail-under` would let a well-covered package hide a poorly covered one, so each package
the issue names has its own floor. Run after `python -m pytest -q --cov=difyctl.client ... --cov-report=`
(.ci/run), or any run with `--cov=difyctl`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import coverage

FLOORS = {
    "client": 95.0,
    "snapshots": 95.0,
    "rotation": 95.0,
    "broadcast": 95.0,
    "validation": 95.0,
    "release": 95.0,
    "change": 95.0,  # the one change engine (issue 12), split out of snapshots/ and release/
}


def package_coverage(data_file: Path) -> dict[str, tuple[int, int]]:
    """Package -> (statements, missed) summed over its files."""
    cov = coverage.Coverage(data_file=str(data_file))
    cov.load()
    totals = dict.fromkeys(FLOORS, (0, 0))
    for measured in cov.get_data().measured_files():
        parts = Path(measured).parts
        if "difyctl" not in parts:
            continue
        rest = parts[len(parts) - 1 - parts[::-1].index("difyctl") + 1 :]
        if len(rest) < 2 or rest[0] not in FLOORS:
            continue
        _, statements, _, missing, _ = cov.analysis2(measured)
        seen, missed = totals[rest[0]]
        totals[rest[0]] = (seen + len(statements), missed + len(missing))
    return totals


def main(argv: list[str]) -> int:
    data_file = Path(argv[1] if len(argv) > 1 else ".coverage")
    if not data_file.exists():
        sys.stderr.write(f"no coverage data at {data_file}: run pytest with --cov=difyctl first\n")
        return 2
    failed = []
    for name, (statements, missed) in sorted(package_coverage(data_file).items()):
        percent = 100.0 * (statements - missed) / statements if statements else 0.0
        floor = FLOORS[name]
        verdict = "ok" if percent >= floor else f"BELOW {floor:g} %"
        where = f"difyctl/{name}/"
        sys.stdout.write(f"  {where:<20} {percent:6.2f} %  ({missed} of {statements} missed)  {verdict}\n")
        if percent < floor:
            failed.append(name)
    if failed:
        sys.stderr.write(f"coverage below the floor: {', '.join(failed)}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
