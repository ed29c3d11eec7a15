"""Start-up cost of difyctl commands against `python -c "import typer"`.

Budget (DESIGN.md): at most 1.5x the bare typer import for `--version`, `--help` and (issue 15) a real
subcommand: `run --help` and `apps list -o json` with no server configured (it fails fast, exit 2),
i.e. heavy modules (pydantic via typer's coercion, httpx, rich, yaml, the client) must not be imported
before a command needs them.

    python benchmarks/bench_startup.py [--runs 30]

Prints a Markdown table: the median and p90 of each command's CPU time (user + sys of the child, from
`resource.getrusage`: steadier than wall time on a shared machine) and of its wall time, over N fresh
interpreters, and the CPU ratio to the baseline. The cases alternate run by run, so drift hits all alike.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

CASES = {
    "baseline: python -c 'import typer'": [sys.executable, "-c", "import typer"],
    "difyctl --version": [sys.executable, "-m", "difyctl", "--version"],
    "difyctl --help": [sys.executable, "-m", "difyctl", "--help"],
    "difyctl run --help": [sys.executable, "-m", "difyctl", "run", "--help"],
    "difyctl apps list -o json (no server: exit 2)": [
        sys.executable,
        "-m",
        "difyctl",
        "apps",
        "list",
        "-o",
        "json",
    ],
}


def one(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(cpu ms, wall ms) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, env=env, check=False)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DIFY_", "DIFYCTL_"))}
        env.update(HOME=home, DIFYCTL_CONFIG_DIR=os.path.join(home, "cfg"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached (the warm-up writes it)
        for argv in CASES.values():  # warm the OS file cache
            one(argv, env)
        cpu: dict[str, list[float]] = {name: [] for name in CASES}
        wall: dict[str, list[float]] = {name: [] for name in CASES}
        for _ in range(args.runs):
            for name, argv in CASES.items():
                c, w = one(argv, env)
                cpu[name].append(c)
                wall[name].append(w)
    base = statistics.median(cpu[next(iter(CASES))])
    print("| command | CPU median ms | CPU p90 ms | wall median ms | x baseline CPU (budget 1.5) |")
    print("|---|---|---|---|---|")
    for name in CASES:
        times = sorted(cpu[name])
        med, p90 = statistics.median(times), times[max(int(len(times) * 0.9) - 1, 0)]
        print(f"| {name} | {med:.1f} | {p90:.1f} | {statistics.median(wall[name]):.1f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
