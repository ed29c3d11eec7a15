"""Startup cost of `difyctl --version` and `difyctl --help` against `python -c "import typer"`.

Budget (DESIGN.md): at most 1.5x the bare typer import, i.e. heavy modules (httpx, rich, yaml,
jsonschema, the client) must not be imported before a command needs them.

    python benchmarks/bench_startup.py [--runs 30]

Prints a Markdown table: median and p90 wall time of each command over N runs (fresh interpreter
each time), and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "baseline: python -c 'import typer'": [sys.executable, "-c", "import typer"],
    "difyctl --version": [sys.executable, "-m", "difyctl", "--version"],
    "difyctl --help": [sys.executable, "-m", "difyctl", "--help"],
    "difyctl run --help": [sys.executable, "-m", "difyctl", "run", "--help"],
}


def measure(argv: list[str], runs: int) -> list[float]:
    subprocess.run(argv, capture_output=True, check=True)  # warm the OS file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    results = {name: measure(argv, args.runs) for name, argv in CASES.items()}
    base = statistics.median(next(iter(results.values())))
    print("| command | median ms | p90 ms | x baseline (budget 1.5) |\n|---|---|---|---|")
    for name, times in results.items():
        times.sort()
        med, p90 = statistics.median(times), times[int(len(times) * 0.9) - 1]
        print(f"| {name} | {med:.1f} | {p90:.1f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
