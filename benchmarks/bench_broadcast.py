"""Benchmark: broadcast fan-out vs. the two scripts teams write today (DESIGN.md budgets).

    python benchmarks/bench_broadcast.py [--sizes 10,100,1000] [--latency-ms 200] [--concurrency 100]
                                         [--sequential-max 1000] [--markdown FILE]

For each N, a fresh emulator runs in its OWN process (`python -m difyctl emulator serve --seed demo
--apps N --latency-ms L --port 0`; the first stdout line is the URL), so client and server never share
a GIL. The keys of echo-chat-0001..N are read through the console API (login + list keys), as an
operator would. Then, each approach in its own child process (CPU time and peak RSS from wait4):

- difyctl (mode known):  `python -m difyctl broadcast Q --apps-file F -o json` with `mode:` in each
  entry, as `--all` knows it from the console listing: one request per target;
- difyctl (mode probed): the same apps file without `mode:`: GET /v1/info first, two requests per target;
- sequential httpx:      a loop of blocking POSTs on one httpx.Client (what official-SDK users write);
- requests + threads:    `requests.post` in a ThreadPoolExecutor(max_workers=concurrency) (blog scripts);
- httpx async + gather:  one httpx.AsyncClient with its default (single) pool, a semaphore, gather: the
                         hand-rolled async script, without retries, per-target timeouts or aggregation;
- bare aiohttp + gather: the same with one aiohttp.ClientSession: the fastest asyncio client, so what is
                         left over one call in its row is the emulator's (accepting N connections and
                         parsing N requests on one core) and the machine's;
- for the largest N also difyctl at concurrency = N, to check the emulator is not the bottleneck.

Concurrent approaches run --repeat times (default 3), round by round (one run of each approach per
round, A B C A B C: a drift of the machine or of the emulator is shared by all); the median run is
shown, all runs are listed (the machine may be shared, and one fan-out of 100 requests is noisy).

"one call" is the median of 5 sequential blocking calls to one app, measured first. The emulator's own
CPU time (from /proc) is reported per run: near the wall time would mean the server is saturated.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
QUERY = "What is Dify?"
EMAIL, PASSWORD = "admin@example.com", "DemoPass123"


# -- children ---------------------------------------------------------------------------------------


def _body(i: int) -> dict[str, Any]:
    return {"inputs": {}, "query": QUERY, "user": f"bench-{i}", "response_mode": "blocking"}


def child_sequential(url: str, keys: list[str]) -> dict[str, Any]:
    import httpx

    ok = 0
    t0 = time.perf_counter()
    with httpx.Client(base_url=url, timeout=60.0) as client:
        for i, key in enumerate(keys):
            r = client.post("/v1/chat-messages", json=_body(i), headers={"Authorization": f"Bearer {key}"})
            ok += r.status_code == 200
    return {"wall_s": time.perf_counter() - t0, "ok": ok}


def child_threads(url: str, keys: list[str], concurrency: int) -> dict[str, Any]:
    import requests

    def one(item: tuple[int, str]) -> bool:
        i, key = item
        r = requests.post(
            f"{url}/v1/chat-messages", json=_body(i), headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        return r.status_code == 200

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        ok = sum(pool.map(one, enumerate(keys)))
    return {"wall_s": time.perf_counter() - t0, "ok": ok}


def child_async_httpx(url: str, keys: list[str], concurrency: int) -> dict[str, Any]:
    """The hand-rolled async script: one httpx.AsyncClient (its default single pool), a semaphore,
    gather. No retries, no timeouts per target, no aggregation: the floor of "just use httpx"."""
    import asyncio

    import httpx

    async def main() -> dict[str, Any]:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, timeout=60.0, limits=limits) as client:
            slots = asyncio.Semaphore(concurrency)

            async def one(i: int, key: str) -> bool:
                async with slots:
                    headers = {"Authorization": f"Bearer {key}"}
                    r = await client.post("/v1/chat-messages", json=_body(i), headers=headers)
                    return r.status_code == 200

            t0 = time.perf_counter()
            ok = sum(await asyncio.gather(*(one(i, k) for i, k in enumerate(keys))))
            return {"wall_s": time.perf_counter() - t0, "ok": ok}

    return asyncio.run(main())


# -- parent -----------------------------------------------------------------------------------------


def compile_package() -> None:
    """Write difyctl's bytecode, as `pip install` of a wheel does: with PYTHONDONTWRITEBYTECODE set
    (as on the shared machine) an editable checkout recompiles every module in every child, ~0.3 s
    of CPU that no installed copy pays."""
    import compileall

    compileall.compile_dir(ROOT / "difyctl", quiet=1)


def spawn(argv: list[str], env: dict[str, str] | None = None) -> tuple[dict[str, Any], float, float, float]:
    """(its JSON, process wall s, CPU s, peak RSS MB) of a child, reaped with wait4 for its rusage."""
    import threading

    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}, cwd=ROOT
    )
    chunks: dict[str, bytes] = {}

    def drain(name: str, stream: Any) -> None:
        chunks[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=(n, s)) for n, s in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join()
    wall = time.perf_counter() - t0
    try:
        doc = json.loads(chunks["out"])
    except ValueError:
        raise RuntimeError(f"child failed ({argv[:4]}): {chunks['err'].decode()[-2000:]}") from None
    doc["exit_code"] = proc.returncode
    return doc, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


class Emulator:
    def __init__(self, n: int, latency_ms: float) -> None:
        self.proc = subprocess.Popen(
            [PY, "-m", "difyctl", "emulator", "serve", "--seed", "demo", "--apps", str(n),
             "--latency-ms", str(latency_ms), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError("the emulator did not start")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def echo_keys(url: str, n: int) -> dict[str, str]:
    """App name -> newest key, through the console API (login + list keys, 64 at a time)."""
    sys.path.insert(0, str(ROOT))
    from difyctl.client.auth import SessionAuth, login
    from difyctl.client.console import ConsoleClient

    session = login(url, EMAIL, PASSWORD).session
    with ConsoleClient(url, SessionAuth(session, on_refresh=None)) as console:
        apps = [a for a in console.iter_apps() if a.name.startswith("echo-chat-")]
        with ThreadPoolExecutor(64) as pool:
            keys = list(pool.map(lambda a: console.list_api_keys(a.id)[0].token, apps))
    found = {a.name: k for a, k in zip(apps, keys, strict=True)}
    names = [f"echo-chat-{i:04d}" for i in range(1, n + 1)]
    return {name: found[name] for name in names}


def one_call_ms(url: str, key: str) -> float:
    import httpx

    samples = []
    with httpx.Client(base_url=url, timeout=60.0) as client:
        for i in range(6):
            t0 = time.perf_counter()
            client.post("/v1/chat-messages", json=_body(i), headers={"Authorization": f"Bearer {key}"})
            samples.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(samples[1:])  # the first pays the TCP connect


def bench_size(n: int, args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    emu = Emulator(n, args.latency_ms)
    rows: list[dict[str, Any]] = []
    try:
        keys = echo_keys(emu.url, n)
        single = one_call_ms(emu.url, next(iter(keys.values())))
        env = {f"K_{i:04d}": key for i, key in enumerate(keys.values(), start=1)}
        for probe in (False, True):
            mode = {} if probe else {"mode": "advanced-chat"}
            entries = [
                {"app": name, "base_url": emu.url, "key_env": f"K_{i:04d}", **mode}
                for i, name in enumerate(keys, start=1)
            ]
            (tmp / f"apps-{n}-{probe}.yaml").write_text(json.dumps(entries))
        keys_file = tmp / f"keys-{n}.json"
        keys_file.write_text(json.dumps(list(keys.values())))
        c = min(args.concurrency, n)
        # (label, concurrency, argv, env): run ROUND BY ROUND, one run of each per round (A B C A B C),
        # so a drift of the machine or of the emulator (its state grows with every run) is spread over
        # every approach instead of landing on whichever ran first
        specs: list[tuple[str, int, list[str], dict[str, str] | None]] = []

        def difyctl(label: str, apps_file: Path, conc: int) -> None:
            argv = [PY, "-m", "difyctl", "broadcast", QUERY, "--apps-file", str(apps_file)]
            argv += ["--concurrency", str(conc), "--per-app", "4", "-o", "json"]
            specs.append((label, conc, argv, env))

        difyctl("difyctl broadcast (mode known)", tmp / f"apps-{n}-False.yaml", c)
        difyctl("difyctl broadcast (mode probed: /v1/info)", tmp / f"apps-{n}-True.yaml", c)
        if n == max(args.sizes) and n > c:
            difyctl("difyctl broadcast, concurrency = N", tmp / f"apps-{n}-False.yaml", n)
        child = [PY, __file__, "--child"]
        for label, kind in (
            ("requests + ThreadPoolExecutor", "threads"),
            ("httpx.AsyncClient + gather (one plain pool)", "async-httpx"),
            ("bare aiohttp + gather", "aiohttp"),
        ):
            specs.append((label, c, [*child, kind, emu.url, str(keys_file), str(c)], None))
        runs: dict[str, list[tuple[float, int, float, float, float, float]]] = {s[0]: [] for s in specs}
        for _ in range(args.repeat):
            for label, _conc, argv, extra in specs:
                runs[label].append(_measure(emu, argv, extra))
        if n <= args.sequential_max:
            label = "sequential httpx loop"
            specs.append((label, 1, [*child, "sequential", emu.url, str(keys_file), "1"], None))
            runs[label] = [_measure(emu, specs[-1][2], None)]
        for label, conc, _argv, _extra in specs:
            w, ok, pw, cpu, rss, ecpu = sorted(runs[label])[len(runs[label]) // 2]  # the median run
            rows.append(_row(n, label, conc, w, ok, single, pw, cpu, rss, ecpu, [r[0] for r in runs[label]]))
    finally:
        emu.stop()
    return rows


def _measure(
    emu: Emulator, argv: list[str], extra: dict[str, str] | None
) -> tuple[float, int, float, float, float, float]:
    """One run of a child: (fan-out wall s, ok, process wall s, CPU s, peak RSS MB, emulator CPU s)."""
    cpu0 = emu.cpu_s()
    doc, wall, cpu, rss = spawn(argv, extra)
    fan_out = doc["summary"]["wall_ms"] / 1000 if "summary" in doc else doc["wall_s"]
    ok = doc["summary"]["ok"] if "summary" in doc else doc["ok"]
    return (fan_out, ok, wall, cpu, rss, emu.cpu_s() - cpu0)


def _row(
    n: int, label: str, c: int, wall: float, ok: int, single_ms: float, proc_wall: float, cpu: float,
    rss: float, emu_cpu: float, walls: list[float],
) -> dict[str, Any]:  # fmt: skip
    row = {
        "N": n, "approach": label, "concurrency": c, "fan-out wall s": round(wall, 3),
        "wall / one call": round(wall * 1000 / single_ms, 2), "one call ms": round(single_ms, 1),
        "ideal s": round(-(-n // c) * single_ms / 1000, 2), "process wall s": round(proc_wall, 2),
        "CPU s": round(cpu, 2), "peak RSS MB": round(rss, 1), "ok": f"{ok}/{n}",
        "emulator CPU s": round(emu_cpu, 2), "runs s": " ".join(f"{w:.3f}" for w in sorted(walls)),
        "load avg": round(os.getloadavg()[0], 1),
    }  # fmt: skip
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def markdown(rows: list[dict[str, Any]]) -> str:
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, url, keys_file, conc = sys.argv[2:6]
        keys = json.loads(Path(keys_file).read_text())
        if kind == "sequential":
            doc = child_sequential(url, keys)
        elif kind == "threads":
            doc = child_threads(url, keys, int(conc))
        elif kind == "aiohttp":  # bare aiohttp: a semaphore, gather (the end-to-end benchmark's peer)
            sys.path.insert(0, str(ROOT))
            from benchmarks.bench_broadcast_all import child_aiohttp

            doc = child_aiohttp(url, keys, int(conc))
        else:
            doc = child_async_httpx(url, keys, int(conc))
        print(json.dumps(doc))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,100,1000", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument(
        "--sequential-max", type=int, default=1000, help="skip the sequential loop above this N"
    )
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--repeat", type=int, default=3, help="runs per concurrent approach (median shown)")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
        for n in args.sizes:
            rows += bench_size(n, args, Path(tmp))
    table = markdown(rows)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")


if __name__ == "__main__":
    main()
