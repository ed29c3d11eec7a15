"""Benchmark: `difyctl broadcast Q --all` END TO END, as a user runs it, against its peers.

    python benchmarks/bench_broadcast_all.py [--sizes 10,100,1000] [--latency-ms 200] [--concurrency 100]
                                             [--repeat 3] [--markdown FILE]

A fresh emulator per N in its own process: `emulator serve --seed demo --apps N-2 --latency-ms L`, so
EVERY request is delayed L ms (login, the app list, each key lookup, each run; the emulator's /health,
which a real server would delay too, is not). The workspace then holds N chatflows (N-2 echo-chat apps
and the demo's echo-chat and json-chat) and two more demo apps: a workflow and a completion app.

- `difyctl broadcast --all --mode advanced-chat`: the N chatflows, i.e. the same N apps the peers are
  handed. A child process from nothing (no session stored: it logs in with DIFY_EMAIL /
  DIFY_PASSWORD), lists the apps, looks every key up, runs. Process wall, CPU and peak RSS from wait4,
  and the fan-out wall it reports. Budget at N = 100, C = 100: <= 6 x one call (login, the list, one
  round of key lookups and the run are four round trips, plus start-up).
- the same with a session stored by `difyctl login` once (a cron job's set-up): no /health and no login
  round trip, the list, the lookups and the run only.
- `difyctl broadcast --all`: the N + 2 apps. The workflow and the completion app take the question as
  an input, so their input form (`/v1/parameters`) is read before their run: a fifth round trip for
  those two, on the critical path.
- peers, HANDED THE KEYS (they do no login, listing or lookups): requests + ThreadPoolExecutor(C), the
  official `dify-client` SDK (`ChatClient.create_chat_message`) in a ThreadPoolExecutor(C), and bare
  aiohttp + a semaphore of C + gather. Their figures are the fan-out alone plus their start-up.

Wall times are inflated by other load on a shared machine: the CPU column is the steadier one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_broadcast import (  # noqa: E402
    EMAIL,
    PASSWORD,
    PY,
    QUERY,
    Emulator,
    child_threads,
    compile_package,
    echo_keys,
    one_call_ms,
    spawn,
)


def _body(i: int) -> dict[str, Any]:
    return {"inputs": {}, "query": QUERY, "user": f"bench-{i}", "response_mode": "blocking"}


def child_sdk(url: str, keys: list[str], concurrency: int) -> dict[str, Any]:
    from dify_client import ChatClient  # type: ignore[import-untyped]

    def one(item: tuple[int, str]) -> bool:
        i, key = item
        client = ChatClient(key)
        client.base_url = f"{url}/v1"
        return bool(client.create_chat_message({}, QUERY, f"bench-{i}").status_code == 200)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        ok = sum(pool.map(one, enumerate(keys)))
    return {"wall_s": time.perf_counter() - t0, "ok": ok}


def child_aiohttp(url: str, keys: list[str], concurrency: int) -> dict[str, Any]:
    import aiohttp

    async def main() -> dict[str, Any]:
        slots = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=concurrency)) as session:

            async def one(i: int, key: str) -> bool:
                async with slots:
                    headers = {"Authorization": f"Bearer {key}"}
                    async with session.post("/v1/chat-messages", json=_body(i), headers=headers) as resp:
                        await resp.read()
                        return resp.status == 200

            t0 = time.perf_counter()
            ok = sum(await asyncio.gather(*(one(i, k) for i, k in enumerate(keys))))
            return {"wall_s": time.perf_counter() - t0, "ok": ok}

    return asyncio.run(main())


CHILDREN = {"threads": child_threads, "sdk": child_sdk, "aiohttp": child_aiohttp}


def chat_keys(url: str, n: int) -> dict[str, str]:
    """The N chatflows' keys: the echo-chat apps and the demo's two chatflows."""
    keys = echo_keys(url, n - 2)
    keys.update(demo_keys(url, ("echo-chat", "json-chat")))
    return keys


def demo_keys(url: str, names: tuple[str, ...]) -> dict[str, str]:
    from difyctl.client.auth import SessionAuth, login
    from difyctl.client.console import ConsoleClient

    session = login(url, EMAIL, PASSWORD).session
    with ConsoleClient(url, SessionAuth(session, on_refresh=None)) as console:
        return {a.name: console.list_api_keys(a.id)[0].token for a in console.iter_apps() if a.name in names}


def bench(n: int, args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    if n < 3:
        raise SystemExit("--sizes: N >= 3 (the workspace holds two demo chatflows)")
    emu = Emulator(n - 2, args.latency_ms)
    rows: list[dict[str, Any]] = []
    try:
        keys = chat_keys(emu.url, n)
        single = one_call_ms(emu.url, next(iter(keys.values())))
        keys_file = tmp / f"keys-{n}.json"
        keys_file.write_text(json.dumps(list(keys.values())))
        c = min(args.concurrency, n)

        # (label, argv, env), run ROUND BY ROUND (A B C A B C): a drift of the machine or of the
        # emulator (its state grows with every run) is shared by every approach
        specs: list[tuple[str, list[str], dict[str, str] | None]] = []
        config = tmp / f"config-{n}"
        env = {"DIFY_BASE_URL": emu.url, "DIFY_EMAIL": EMAIL, "DIFY_PASSWORD": PASSWORD}
        env.update({"DIFYCTL_CONFIG_DIR": str(config), "DIFYCTL_KEYRING": "off", "DIFYCTL_HTTP": ""})
        argv = [PY, "-m", "difyctl", "broadcast", QUERY, "--all", "--concurrency", str(c), "-o", "json"]
        specs.append(
            (
                "difyctl broadcast --all --mode advanced-chat (login, list, key lookups, run)",
                [*argv, "--mode", "advanced-chat"],
                env,
            )
        )
        specs.append(("difyctl broadcast --all (N + 2 apps: + a workflow and a completion app)", argv, env))
        stored = {
            "DIFYCTL_CONFIG_DIR": str(tmp / f"session-{n}"),
            "DIFYCTL_KEYRING": "off",
            "DIFYCTL_HTTP": "",
        }
        login = [PY, "-m", "difyctl", "login", "--base-url", emu.url, "--email", EMAIL, "--password-stdin"]
        subprocess.run(
            login,
            input=PASSWORD + "\n",
            env={**os.environ, **stored},
            check=True,
            capture_output=True,
            text=True,
        )
        specs.append(
            (
                "difyctl broadcast --all --mode advanced-chat, after `difyctl login` (list, lookups, run)",
                [*argv, "--mode", "advanced-chat"],
                stored,
            )
        )
        child = [PY, __file__, "--child"]
        for name, label in (
            ("threads", "requests + ThreadPoolExecutor (keys handed)"),
            ("sdk", "dify-client SDK in ThreadPoolExecutor (keys handed)"),
            ("aiohttp", "bare aiohttp + gather (keys handed)"),
        ):
            specs.append((label, [*child, name, emu.url, str(keys_file), str(c)], None))
        runs: dict[str, list[tuple[float, float, float, float, str]]] = {spec[0]: [] for spec in specs}
        for _ in range(args.repeat):
            for label, spec_argv, spec_env in specs:
                doc, wall, cpu, rss = spawn(spec_argv, spec_env)
                fan = doc["summary"]["wall_ms"] / 1000 if "summary" in doc else doc["wall_s"]
                ok = doc["summary"]["ok"] if "summary" in doc else doc["ok"]
                total = len(doc["targets"]) if "targets" in doc else n
                runs[label].append((wall, fan, cpu, rss, f"{ok}/{total}"))
        for label, _argv, _env in specs:
            wall, fan, cpu, rss, ok = sorted(runs[label])[len(runs[label]) // 2]
            rows.append(
                {"n": n, "approach": label, "c": c, "process_wall_s": wall,
                 "x_one_call": wall * 1000 / single, "fanout_s": fan, "cpu_s": cpu, "rss_mb": rss,
                 "ok": ok, "one_call_ms": single,
                 "runs_wall_s": [round(r[0], 2) for r in runs[label]]}
            )  # fmt: skip
            print(json.dumps(rows[-1]), file=sys.stderr)
    finally:
        emu.stop()
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| N | approach | C | process wall s* | x one call | fan-out s* | CPU s | peak RSS MB | ok "
        "| runs (wall s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']} | {r['approach']} | {r['c']} | {r['process_wall_s']:.2f} | {r['x_one_call']:.1f} | "
            f"{r['fanout_s']:.2f} | {r['cpu_s']:.2f} | {r['rss_mb']:.1f} | {r['ok']} | "
            f"{' '.join(map(str, r['runs_wall_s']))} |"
        )
    return (
        "\n".join(lines)
        + "\n\none call: "
        + ", ".join(sorted({f"{r['one_call_ms']:.0f} ms" for r in rows}))
        + "\n"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        name, url, keys_file, c = sys.argv[2:6]
        doc = CHILDREN[name](url, json.loads(Path(keys_file).read_text()), int(c))
        sys.stdout.write(json.dumps(doc))
        return
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("--sizes", default="10,100,1000", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--markdown", type=Path)
    compile_package()
    run_sizes(parser.parse_args(), bench, markdown)


def run_sizes(args: argparse.Namespace, bench_one: Any, render: Any) -> None:
    """Every size in its own temp dir; the table printed (and written to --markdown), with the load."""
    with tempfile.TemporaryDirectory() as tmp:
        rows = [row for n in args.sizes for row in bench_one(n, args, Path(tmp))]
    text = render(rows)
    print(text)
    print(f"load average after: {os.getloadavg()}")
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
