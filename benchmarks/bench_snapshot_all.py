"""Benchmark: `snapshot create --all` (bounded async fan-out) vs. the ideal and vs. a sequential loop.

    python benchmarks/bench_snapshot_all.py [--latency-ms 100] [--concurrency 8,16,32] [--runs 3]
                                            [--markdown benchmarks/RESULTS-snapshot.md]

The emulator is started here with `EmulatorConfig(seed="demo", apps=196, latency_ms=100)` (4 demo apps
+ 196 = 200 apps, every console request delayed by 100 ms) in a CHILD process, so client and server never
share a GIL. We log in through the client (`difyctl.client.auth.login`), then time:

- fan-out:     `difyctl.snapshots.ops.snapshot_all` over an `AsyncConsoleClient` (the engine of
               `snapshot create --all`), app list fetched beforehand; one fresh store per run;
- CLI:         `difyctl snapshot create --all --concurrency C` end to end through the real root command
               (`difyctl.cli.run`, stored session): adds listing the apps (2 pages of 100 = 2 x latency),
               typer, and writing 200 DSL files + sidecars;
- raw exports: the same async exports with nothing saved: the floor this emulator allows at C;
- sequential:  a loop of blocking `ConsoleClient.export_dsl` + `SnapshotStore.save` (what a script does).

Budget (DESIGN.md): wall time <= 1.15 x (apps / concurrency) x latency. The "ideal" column is
ceil(apps / C) x latency: no client can do better with C requests in flight. The whole command also
lists the apps before the first export (page 1 and page 2 asked together: one round trip for up to
200 apps), which that ideal leaves out: `x (ideal + listing)` adds those round trips. The budget
verdict stays on `x ideal`. `client CPU s` is the benchmark process's CPU (user + system, every
thread) during the run: the emulator runs in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EMAIL, PASSWORD = "admin@example.com", "DemoPass123"
BUDGET = 1.15


PAGE = 100  # the console's page size the listing asks for (difyctl.targets.PAGE_LIMIT)


def listing_round_trips(apps: int) -> int:
    """Page 1 and page 2 are asked together; the pages after them in one more concurrent round."""
    return 1 if apps <= 2 * PAGE else 2


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve(conn: Connection, latency_ms: float, extra_apps: int) -> None:
    """Child process: run the emulator until the parent says stop."""
    from difyctl.emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(seed="demo", apps=extra_apps, latency_ms=latency_ms)) as emu:
        conn.send(emu.base_url)
        conn.recv()


def _options(concurrency: int) -> Any:
    """What `snapshot create --all` uses: the fan-out transport (aiohttp, or striped httpx pools with
    DIFYCTL_HTTP=httpx), never one plain httpcore pool (its connection scan is quadratic)."""
    from difyctl.broadcast.pool import fanout_options
    from difyctl.client.transport import ClientOptions

    return fanout_options(ClientOptions(), concurrency)


def fan_out(base_url: str, auth: Any, apps: list[Any], concurrency: int) -> tuple[float, int, float]:
    from difyctl.client.console import AsyncConsoleClient
    from difyctl.snapshots.ops import SnapshotOptions, snapshot_all
    from difyctl.snapshots.store import SnapshotStore

    async def go(store: SnapshotStore) -> int:
        async with AsyncConsoleClient(base_url, auth, _options(concurrency)) as client:
            outcomes = await snapshot_all(client, store, apps, SnapshotOptions(), concurrency=concurrency)
        return sum(o.ok for o in outcomes)

    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), cpu_s()
        ok = asyncio.run(go(SnapshotStore(tmp)))
        return time.perf_counter() - t0, ok, cpu_s() - c0


def raw_exports(base_url: str, auth: Any, apps: list[Any], concurrency: int) -> tuple[float, int, float]:
    """The floor: the same exports through the same client, nothing parsed or written."""
    from difyctl.client.console import AsyncConsoleClient

    async def go() -> int:
        gate = asyncio.Semaphore(concurrency)
        async with AsyncConsoleClient(base_url, auth, _options(concurrency)) as client:

            async def one(app: Any) -> int:
                async with gate:
                    return len(await client.export_dsl(app.id, workflow_id=app.published_workflow_id)) > 0

            return sum(await asyncio.gather(*(one(app) for app in apps)))

    t0, c0 = time.perf_counter(), cpu_s()
    ok = asyncio.run(go())
    return time.perf_counter() - t0, ok, cpu_s() - c0


def cli_run(base_url: str, concurrency: int) -> tuple[float, int, float]:
    from difyctl.cli import run

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DIFYCTL_CONFIG_DIR": f"{tmp}/config", "DIFYCTL_KEYRING": "off", "NO_COLOR": "1"}
        env.pop("DIFYCTL_SNAPSHOT_DIR", None)
        login = ["login", "--base-url", base_url, "--email", EMAIL]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert run(login, env={**env, "DIFY_PASSWORD": PASSWORD}) == 0
        out = io.StringIO()
        argv = [
            "snapshot",
            "create",
            "--all",
            "--concurrency",
            str(concurrency),
            "--dir",
            f"{tmp}/s",
            "-o",
            "json",
        ]
        t0, c0 = time.perf_counter(), cpu_s()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = run(argv, env=env)
        wall, cpu = time.perf_counter() - t0, cpu_s() - c0
        assert code == 0, code
        return wall, int(json.loads(out.getvalue())["created"]), cpu


def sequential(base_url: str, auth: Any, apps: list[Any]) -> tuple[float, int]:
    from difyctl.client.console import ConsoleClient
    from difyctl.snapshots.ops import export_app
    from difyctl.snapshots.store import SnapshotStore

    with tempfile.TemporaryDirectory() as tmp, ConsoleClient(base_url, auth) as console:
        store = SnapshotStore(tmp)
        t0 = time.perf_counter()
        ok = sum(
            store.save(export_app(console, app), app_id=app.id, app_name=app.name, app_mode=app.mode).created
            for app in apps
        )
        return time.perf_counter() - t0, ok


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--extra-apps", type=int, default=196)
    parser.add_argument("--concurrency", default="8,16,32")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-sequential", action="store_true")
    parser.add_argument("--markdown", default=str(ROOT / "benchmarks" / "RESULTS-snapshot.md"))
    args = parser.parse_args()

    from difyctl.client.auth import SessionAuth, login
    from difyctl.client.console import ConsoleClient

    parent, child = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(
        target=serve, args=(child, args.latency_ms, args.extra_apps), daemon=True
    )
    proc.start()
    try:
        base_url = parent.recv()
        auth = SessionAuth(login(base_url, EMAIL, PASSWORD).session)
        with ConsoleClient(base_url, auth) as console:
            apps = list(console.iter_apps())
        n, lat = len(apps), args.latency_ms / 1000
        rows = []
        for c in (int(x) for x in args.concurrency.split(",")):
            ideal = math.ceil(n / c) * lat
            for label, fn in (
                ("raw exports (client floor)", lambda c=c: raw_exports(base_url, auth, apps, c)),
                ("fan-out (engine)", lambda c=c: fan_out(base_url, auth, apps, c)),
                ("difyctl snapshot create --all", lambda c=c: cli_run(base_url, c)),
            ):
                results = [fn() for _ in range(args.runs)]
                assert all(ok == n for _, ok, _ in results), results
                wall = statistics.median(w for w, _, _ in results)
                cpu = statistics.median(c for _, _, c in results)
                rows.append((label, c, wall, ideal, cpu))
                print(
                    f"{label:32} C={c:<3} median {wall:6.3f} s  ideal {ideal:5.2f} s  x{wall / ideal:.3f}"
                    f"  runs {[round(w, 3) for w, _, _ in results]}  client CPU {cpu:.2f} s",
                    file=sys.stderr,
                )
        seq = None
        if not args.no_sequential:
            seq, ok = sequential(base_url, auth, apps)
            assert ok == n
            print(f"sequential export loop: {seq:.2f} s", file=sys.stderr)
    finally:
        parent.send("stop")
        proc.join(timeout=30)
    report(args, n, rows, seq)


def report(
    args: argparse.Namespace, n: int, rows: list[tuple[str, int, float, float, float]], seq: float | None
) -> None:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    config = f'EmulatorConfig(seed="demo", apps={args.extra_apps}, latency_ms={args.latency_ms:g})'
    lines = [
        "# Benchmark: `snapshot create --all`",
        "",
        f"Generated by `python benchmarks/bench_snapshot_all.py` ({when}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end).",
        f"Emulator in its own process: `{config}` = {n} apps, every console request delayed "
        f"{args.latency_ms:g} ms. Median of {args.runs} runs; a fresh store each run.",
        "",
        f"Budget (DESIGN.md): wall <= {BUDGET} x (apps / concurrency) x latency.",
        "",
        "| what | C | wall s | ideal s | x ideal | within budget | x client floor | x (ideal + listing) "
        "| client CPU s | vs sequential |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    floors = {c: wall for label, c, wall, _, _ in rows if label.startswith("raw")}
    listing = listing_round_trips(n) * args.latency_ms / 1000
    for label, c, wall, ideal, cpu in rows:
        speed = f"{seq / wall:.1f}x faster" if seq else "n/a"
        ok = "yes" if wall <= BUDGET * ideal else "NO"
        vs_floor = f"{wall / floors[c]:.3f}" if c in floors else "n/a"
        vs_command = f"{wall / (ideal + listing):.3f}" if label.startswith("difyctl") else "n/a"
        lines.append(
            f"| {label} | {c} | {wall:.3f} | {ideal:.2f} | {wall / ideal:.3f} | {ok} | {vs_floor} "
            f"| {vs_command} | {cpu:.2f} | {speed} |"
        )
    if seq is not None:
        floor = n * args.latency_ms / 1000
        lines.append(
            f"| sequential loop (ConsoleClient + store.save) | 1 | {seq:.2f} | {floor:.2f} | "
            f"{seq / floor:.3f} | n/a | n/a | n/a | n/a | 1.0x |"
        )
    lines += [
        "",
        "ideal = ceil(N / C) x latency: no client does better with C requests in flight.",
        "",
        "- `raw exports (client floor)`: the async exports alone through `AsyncConsoleClient`,",
        "  nothing parsed or saved: what this emulator allows at that concurrency.",
        "- `fan-out (engine)`: `snapshot_all` alone (app list fetched before the clock starts); each",
        "  export is saved (parse, content hash, two atomic fsynced writes) in a worker thread while",
        "  the other exports are in flight.",
        "- `difyctl snapshot create --all`: the whole command in-process with a stored session; it",
        f"  also lists the apps first ({listing_round_trips(n)} round trip(s): page 1 and 2 asked together),",
        "  which `x (ideal + listing)` counts and `x ideal` does not.",
        "- `x client floor` > 1 is what difyctl adds; `raw exports` > 1.15 x ideal is the server: the",
        "  emulator spends a few ms of CPU per export (building + `yaml.dump` of the DSL) on its single",
        "  event loop, so C answers due at the same instant queue behind each other. A light route",
        "  (`GET /apps/{id}`) at C=8 measured ~1.08 x ideal on the same machine.",
        "",
    ]
    Path(args.markdown).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
