"""Benchmark: `difyctl health --all` over 200 apps at 100 ms emulated latency.

    python benchmarks/bench_health.py [--concurrency 10,20,50,100,200] [--repeat 3] [--markdown FILE]

The emulator runs in its OWN process (`python -m difyctl emulator serve --seed demo --apps 196
--latency-ms 100 --port 0`: 4 demo apps + 196 = 200; the first stdout line is the URL). Each run is
`python -m difyctl health --all -o json --concurrency C` in a child process, logged in through
DIFY_EMAIL/DIFY_PASSWORD (the unattended path), with an empty keyring: every key is resolved
through the console first (async, same concurrency), then checked with GET /v1/info.

Reported per concurrency (median of --repeat runs):
- check: the fan-out of the 200 /v1/info calls (the engine's own `wall_ms`), against the ideal
  one call's latency x 200 / concurrency. Since `health --all` checks each app as soon as its own key
  is known (pipelined), this window opens when the app list has arrived and so also holds the key
  lookups: compare the totals;
- resolve: login + app listing + 200 key listings (`resolve_ms`: the start to the last key known);
- total: the child's wall time, interpreter start included.
"one call" is the median of 5 sequential GET /v1/info calls, measured first.

Each phase is also set against what no client can beat at that concurrency, in round trips of one
call: resolve >= login + the app list (pages 1 and 2 asked together) + ceil(200 / C) rounds of key
lookups; total >= start-up (`python -m difyctl --version`, median of 3) + resolve + ONE check round
trip (the check of the app whose key came last).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
APPS, LATENCY_MS = 196, 100
EMAIL, PASSWORD = "admin@example.com", "DemoPass123"


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            PY,
            "-m",
            "difyctl",
            "emulator",
            "serve",
            "--seed",
            "demo",
            "--apps",
            str(APPS),
            "--latency-ms",
            str(LATENCY_MS),
            "--port",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"the emulator did not start: {url!r}")
    return proc, url


def one_call_ms(url: str) -> float:
    """Median of 5 sequential GET /v1/info with one app's key (read through the console)."""
    import httpx

    from difyctl.client.auth import SessionAuth, login
    from difyctl.client.console import ConsoleClient

    result = login(url, EMAIL, PASSWORD)

    with ConsoleClient(url, SessionAuth(result.session)) as console:
        app = next(a for a in console.iter_apps() if a.name == "echo-chat")
        key = console.list_api_keys(app.id)[0].token
    times = []
    with httpx.Client(base_url=url) as client:
        for _ in range(5):
            t0 = time.perf_counter()
            client.get("/v1/info", headers={"Authorization": f"Bearer {key}"}).raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def startup_ms() -> float:
    """The interpreter and the CLI's start-up alone: median of 3 `python -m difyctl --version`."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([PY, "-m", "difyctl", "--version"], cwd=ROOT, capture_output=True, check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def resolve_round_trips(apps: int, concurrency: int) -> int:
    """login + the app list (one round for up to 2 pages of 100) + the key lookups, C at a time."""
    return 1 + (1 if apps <= 200 else 2) + math.ceil(apps / concurrency)


def run_health(url: str, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-health-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DIFY_", "DIFYCTL_"))}
        if "DIFYCTL_HTTP" in os.environ:  # DIFYCTL_HTTP=httpx: benchmark the striped httpx transport
            env["DIFYCTL_HTTP"] = os.environ["DIFYCTL_HTTP"]
        env.update(
            DIFYCTL_CONFIG_DIR=tmp,
            DIFYCTL_KEYRING="off",
            DIFY_BASE_URL=url,
            DIFY_EMAIL=EMAIL,
            DIFY_PASSWORD=PASSWORD,
        )
        t0 = time.perf_counter()
        done = subprocess.run(
            [PY, "-m", "difyctl", "health", "--all", "-o", "json", "--concurrency", str(concurrency)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        total = (time.perf_counter() - t0) * 1000
    if done.returncode != 0:
        raise SystemExit(f"health exited {done.returncode}: {done.stderr[-500:]}")
    summary = json.loads(done.stdout)["summary"]
    return {
        "total_ms": total,
        "check_ms": summary["wall_ms"],
        "resolve_ms": summary["resolve_ms"],
        "ok": summary["ok"],
        "apps": summary["total"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", default="10,20,50,100,200")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    proc, url = start_emulator()
    try:
        call = one_call_ms(url)
        start = startup_ms()
        rows = []
        for c in levels:
            runs = [run_health(url, c) for _ in range(args.repeat)]
            med = sorted(runs, key=lambda r: r["check_ms"])[len(runs) // 2]
            ideal = call * 200 / c
            resolve_ideal = call * resolve_round_trips(200, c)
            resolve_med = statistics.median(r["resolve_ms"] for r in runs)
            total_med = statistics.median(r["total_ms"] for r in runs)
            rows.append(
                {
                    "concurrency": c,
                    "ideal_ms": ideal,
                    **med,
                    "resolve_ms": resolve_med,
                    "total_ms": total_med,
                    "ratio": med["check_ms"] / ideal,
                    "resolve_ideal_ms": resolve_ideal,
                    "total_ideal_ms": start + resolve_ideal + call,  # pipelined: the last key's check
                    "all_check_ms": [round(r["check_ms"]) for r in runs],
                    "all_resolve_ms": [round(r["resolve_ms"]) for r in runs],
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    lines = [
        f"one GET /v1/info: {call:.1f} ms (median of 5); 200 apps; emulator latency {LATENCY_MS} ms; "
        f"start-up (`python -m difyctl --version`): {start:.0f} ms; load average {os.getloadavg()[0]:.1f}",
        "",
        "| concurrency | ideal = call x 200 / c | check (fan-out) | check / ideal | resolve keys "
        "| resolve ideal | resolve / ideal | total (child) | total ideal | total / ideal | ok "
        "| check runs | resolve runs |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['concurrency']} | {r['ideal_ms']:.0f} ms | {r['check_ms']:.0f} ms | {r['ratio']:.2f} | "
            f"{r['resolve_ms']:.0f} ms | {r['resolve_ideal_ms']:.0f} ms "
            f"| {r['resolve_ms'] / r['resolve_ideal_ms']:.2f} | {r['total_ms']:.0f} ms "
            f"| {r['total_ideal_ms']:.0f} ms | {r['total_ms'] / r['total_ideal_ms']:.2f} "
            f"| {r['ok']}/{r['apps']} | {r['all_check_ms']} | {r['all_resolve_ms']} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
