"""Benchmark: `difyctl health --all` over 200 apps at 100 ms emulated latency.

    python benchmarks/bench_health.py [--concurrency 10,20,50,100,200] [--repeat 3] [--markdown FILE]

The emulator runs in its OWN process (`python -m difyctl emulator serve --seed demo --apps 196
--latency-ms 100 --port 0`: 4 demo apps + 196 = 200; the first stdout line is the URL). Each run is
`python -m difyctl health --all -o json --concurrency C` in a child process, logged in through
DIFY_EMAIL/DIFY_PASSWORD (the unattended path), with an empty keyring: every key is resolved
through the console first (async, same concurrency), then checked with GET /v1/info.

Reported per concurrency (median of --repeat runs):
- check: the fan-out of the 200 /v1/info calls (the engine's own `wall_ms`), against the ideal
  one call's latency x 200 / concurrency;
- resolve: login + app listing + 200 key listings (`resolve_ms`);
- total: the child's wall time, interpreter start included.
"one call" is the median of 5 sequential GET /v1/info calls, measured first.
"""

from __future__ import annotations

import argparse
import json
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
        rows = []
        for c in levels:
            runs = [run_health(url, c) for _ in range(args.repeat)]
            med = sorted(runs, key=lambda r: r["check_ms"])[len(runs) // 2]
            ideal = call * 200 / c
            rows.append(
                {
                    "concurrency": c,
                    "ideal_ms": ideal,
                    **med,
                    "ratio": med["check_ms"] / ideal,
                    "all_check_ms": [round(r["check_ms"]) for r in runs],
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    lines = [
        f"one GET /v1/info: {call:.1f} ms (median of 5); 200 apps; emulator latency {LATENCY_MS} ms",
        "",
        "| concurrency | ideal = call x 200 / c | check (fan-out) | check / ideal | resolve keys "
        "| total (child) | ok | check runs |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['concurrency']} | {r['ideal_ms']:.0f} ms | {r['check_ms']:.0f} ms | {r['ratio']:.2f} | "
            f"{r['resolve_ms']:.0f} ms | {r['total_ms']:.0f} ms | {r['ok']}/{r['apps']} "
            f"| {r['all_check_ms']} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
