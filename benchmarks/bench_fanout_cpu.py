"""Benchmark: client CPU per request of the fan-out, and peak RSS, against bare aiohttp + gather.

    python benchmarks/bench_fanout_cpu.py [--sizes 1000,5000] [--latency-ms 200] [--repeat 3]
                                          [--only LABEL,...] [--markdown FILE]

CPU time, not wall time: the machine is shared, and CPU time (`time.process_time()` around the fan-out
only, in a child process of its own) is what other load disturbs least. Wall times are printed too,
but other sessions' load inflates them.

A fresh emulator per N in its own process (`emulator serve --apps N --latency-ms L`), keys read once
through the console. Each approach runs in its own child, concurrency = N (every request in flight
at once; the threads peer: 100 workers, and `engine-c100`: 100), and reports its fan-out CPU ms per
request; peak RSS is the whole child's (wait4), and the RSS before the fan-out (VmHWM just before the
clock: imports and set-up) shows what the fan-out itself adds. Techniques are switched one by one in
the child (`--variant`), so each row changes one thing:

- `engine`            difyctl's broadcast engine (mode known: one POST per target), as shipped;
- `engine-gc-on`      ... with the cyclic GC left as it is during the fan-out (no freeze, no thresholds);
- `engine-httpx`      ... on the striped httpx pool instead of aiohttp (`DIFYCTL_HTTP=httpx`);
- `engine-text`       ... with the live table on a (fake) terminal, as `broadcast` without `-o json`;
- `engine-c100`       ... at concurrency 100: as many requests in flight as the threads peer's 100 workers
                      (memory grows with what is in flight, not with N);
- `aiohttp-gather`    bare aiohttp: one ClientSession, `asyncio.gather` of N POSTs (the budget's peer);
- `requests-threads`  requests.post in a ThreadPoolExecutor(100) (the blog-post script);
- `requests-threads-n` ... with as many workers as targets (at most 1000): the same concurrency as the
                      engine rows, so memory is compared at equal requests in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_broadcast import PY, QUERY, Emulator, echo_keys, spawn  # noqa: E402

VARIANTS: tuple[str, ...] = ("engine", "engine-gc-on", "engine-httpx", "engine-text", "engine-c100")
VARIANTS += ("aiohttp-gather", "requests-threads", "requests-threads-n")


def _body(i: int) -> dict[str, Any]:
    return {"query": QUERY, "inputs": {}, "user": f"bench-{i}", "response_mode": "blocking"}


# -- children ---------------------------------------------------------------------------------------


def child_engine(url: str, keys: list[str], variant: str) -> dict[str, Any]:
    from difyctl.broadcast import engine
    from difyctl.broadcast.engine import BroadcastOptions, run_broadcast
    from difyctl.broadcast.targets import Target

    if variant == "engine-gc-on":
        import contextlib

        engine.quiet_gc = contextlib.nullcontext  # type: ignore[attr-defined,assignment]
    targets = [Target(f"a{i}", f"a{i}", url, k, mode="advanced-chat") for i, k in enumerate(keys)]
    n = len(targets)
    options = BroadcastOptions(QUERY, "bench", False, 100 if variant == "engine-c100" else n, 4, 120.0, 0)
    hooks: dict[str, Any] = {}
    table: Any = None
    if variant == "engine-text":
        from difyctl.output import Output
        from difyctl.output.broadcast import LiveTable

        class Tty(io.StringIO):
            def isatty(self) -> bool:
                return True

        out = Output(stdout=Tty(), stderr=Tty(), color=True)
        table = LiveTable(out, [t.name for t in targets])
        table.__enter__()
        hooks = {"on_start": table.start, "on_result": table.done}
    # as the CLI does (pool.warm_up, while the keys resolve), and as the peers do: imports before the clock
    # (the transport's own: aiohttp, or httpcore's async path with DIFYCTL_HTTP=httpx)
    from difyctl.broadcast.pool import fanout_transport

    fanout_transport(1)
    rss0 = _hwm_mb()
    cpu0, t0 = time.process_time(), time.perf_counter()
    result = run_broadcast(targets, options, **hooks)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    if table is not None:
        table.__exit__(None, None, None)
    ok = sum(1 for t in result.targets if t.ok)
    return {"cpu_s": cpu, "wall_s": wall, "ok": ok, "n": n, "rss0_mb": rss0}


def _hwm_mb() -> float:
    """Peak RSS so far (VmHWM): taken just before the clock, it is what the imports and set-up cost."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def child_aiohttp(url: str, keys: list[str]) -> dict[str, Any]:
    import aiohttp

    async def main() -> tuple[int, float, float]:
        connector = aiohttp.TCPConnector(limit=len(keys))
        async with aiohttp.ClientSession(url, connector=connector) as session:

            async def one(i: int, key: str) -> bool:
                headers = {"Authorization": f"Bearer {key}"}
                async with session.post("/v1/chat-messages", json=_body(i), headers=headers) as resp:
                    await resp.json()
                    return resp.status == 200

            rss0.append(_hwm_mb())
            cpu0, t0 = time.process_time(), time.perf_counter()
            done = await asyncio.gather(*(one(i, k) for i, k in enumerate(keys)))
            return sum(done), time.process_time() - cpu0, time.perf_counter() - t0

    rss0: list[float] = []
    ok, cpu, wall = asyncio.run(main())
    return {"cpu_s": cpu, "wall_s": wall, "ok": ok, "n": len(keys), "rss0_mb": rss0[0]}


def child_threads(url: str, keys: list[str], workers: int = 100) -> dict[str, Any]:
    from concurrent.futures import ThreadPoolExecutor

    import requests

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=workers))

    def one(item: tuple[int, str]) -> bool:
        i, key = item
        r = session.post(f"{url}/v1/chat-messages", json=_body(i), headers={"Authorization": f"Bearer {key}"})
        return r.status_code == 200

    rss0 = _hwm_mb()
    cpu0, t0 = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        ok = sum(pool.map(one, enumerate(keys)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    return {"cpu_s": cpu, "wall_s": wall, "ok": ok, "n": len(keys), "rss0_mb": rss0}


def run_child(variant: str, url: str, keys_file: str) -> None:
    keys = json.loads(Path(keys_file).read_text())
    if variant == "aiohttp-gather":
        doc = child_aiohttp(url, keys)
    elif variant == "requests-threads":
        doc = child_threads(url, keys)
    elif variant == "requests-threads-n":
        doc = child_threads(url, keys, workers=min(len(keys), 1000))
    else:
        doc = child_engine(url, keys, variant)
    sys.stdout.write(json.dumps(doc))


# -- parent -----------------------------------------------------------------------------------------


def bench(n: int, args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    emu = Emulator(n, args.latency_ms)
    rows = []
    try:
        keys_file = tmp / f"keys-{n}.json"
        keys_file.write_text(json.dumps(list(echo_keys(emu.url, n).values())))
        for variant in args.only:
            env = {"DIFYCTL_HTTP": "httpx"} if variant == "engine-httpx" else {"DIFYCTL_HTTP": ""}
            runs = []
            for _ in range(args.repeat):
                doc, _wall, _cpu, rss = spawn(
                    [PY, __file__, "--child", variant, emu.url, str(keys_file)], env
                )
                runs.append((doc["cpu_s"] * 1000 / n, doc["wall_s"], rss, doc["ok"], doc["rss0_mb"]))
            cpu_ms, wall, rss, ok, rss0 = sorted(runs)[len(runs) // 2]
            rows.append(
                {"n": n, "variant": variant, "cpu_ms_per_req": cpu_ms, "fanout_wall_s": wall,
                 "peak_rss_mb": rss, "rss_before_mb": rss0, "ok": ok,
                 "runs_cpu_ms": [round(r[0], 3) for r in runs], "runs_rss_mb": [round(r[2], 1) for r in runs]}
            )  # fmt: skip
            print(json.dumps(rows[-1]), file=sys.stderr)
    finally:
        emu.stop()
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| N | approach | client CPU ms / request (median) | x bare aiohttp | peak RSS MB "
        "| RSS before the fan-out MB | fan-out wall s* | ok | runs (CPU ms/req) | runs (peak RSS MB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        peer = next((p for p in rows if p["n"] == r["n"] and p["variant"] == "aiohttp-gather"), None)
        ratio = f"{r['cpu_ms_per_req'] / peer['cpu_ms_per_req']:.2f}" if peer else "-"
        lines.append(
            f"| {r['n']} | {r['variant']} | {r['cpu_ms_per_req']:.3f} | {ratio} | {r['peak_rss_mb']:.1f} | "
            f"{r['rss_before_mb']:.1f} | {r['fanout_wall_s']:.2f} | {r['ok']}/{r['n']} | "
            f"{' '.join(map(str, r['runs_cpu_ms']))} | {' '.join(map(str, r['runs_rss_mb']))} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        run_child(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,5000", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default=",".join(VARIANTS), type=lambda s: s.split(","))
    parser.add_argument("--markdown", type=Path)
    from benchmarks.bench_broadcast_all import run_sizes

    run_sizes(parser.parse_args(), bench, markdown)


if __name__ == "__main__":
    main()
