"""emulator: run the built-in Dify-compatible server (loopback only) for trials, CI scripts and tests."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from difyctl.commands._common import VerboseOpt
from difyctl.emulator.config import DIFY_VERSION, SUPPORTED_VERSIONS

app = typer.Typer(
    help="A local Dify-compatible server (Dify 1.16.0 or 1.13.2 wire format) with demo apps and faults.",
    no_args_is_help=True,
)


@app.command("serve")
def serve(
    host: Annotated[
        str, typer.Option(metavar="NAME", help="Loopback address to bind (127.0.0.1, ::1 or localhost).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="N", help="Port; 0 picks a free one.")] = 0,
    seed: Annotated[
        str,
        typer.Option(metavar="NAME", help="demo (accounts, 4 published apps, keys) or none (run /setup)."),
    ] = "demo",
    apps: Annotated[
        int, typer.Option("--apps", metavar="N", help="Extra echo chatflows echo-chat-0001...", min=0)
    ] = 0,
    latency_ms: Annotated[
        float, typer.Option(metavar="N", help="Added latency per request (ms).", min=0)
    ] = 0.0,
    jitter_ms: Annotated[float, typer.Option(metavar="N", help="Latency spread (ms).", min=0)] = 0.0,
    latency_dist: Annotated[str, typer.Option(metavar="NAME", help="fixed, uniform or lognormal.")] = "fixed",
    state: Annotated[
        Optional[str],  # noqa: UP045 - typer inspects the annotation at runtime
        typer.Option(
            "--state",
            metavar="FILE",
            help="Persist the state in this JSON file (loaded at start).",
            show_default=False,
        ),
    ] = None,
    admin_api_key: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            metavar="TEXT",
            help="Enable Dify's ADMIN_API_KEY auth with this key (CI/cron path).",
            show_default=False,
        ),
    ] = None,
    dify_version: Annotated[
        str,
        typer.Option(
            "--dify-version",
            metavar="NAME",
            help="The Dify release to behave like: 1.16.0 (default, newest recorded) or 1.13.2.",
        ),
    ] = DIFY_VERSION,
    legacy_auth: Annotated[
        bool, typer.Option(help="Behave like Dify < 1.9 (tokens in JSON, no CSRF).")
    ] = False,
    max_active_requests: Annotated[
        int,
        typer.Option(
            metavar="N", help="Per-app active requests before 429 too_many_requests (0: no cap).", min=0
        ),
    ] = 0,
    error_rate: Annotated[
        float, typer.Option(metavar="N", help="Share of API requests answered 500.", min=0, max=1)
    ] = 0.0,
    rate_limit_rate: Annotated[
        float, typer.Option(metavar="N", help="Share of API requests answered 429.", min=0, max=1)
    ] = 0.0,
    stream_cut_rate: Annotated[
        float, typer.Option(metavar="N", help="Share of streams cut mid-answer.", min=0, max=1)
    ] = 0.0,
    midstream_error_rate: Annotated[
        float, typer.Option(metavar="N", help="Share of streams ending in an `error` event.", min=0, max=1)
    ] = 0.0,
    rng_seed: Annotated[
        int, typer.Option(metavar="N", help="Seed of every random fault and latency draw.")
    ] = 0,
    verbose: VerboseOpt = False,  # noqa: ARG001 - accepted by every command; the emulator logs no HTTP
) -> None:
    """Serve until Ctrl-C. The first line on stdout is the base URL.

    \b
    Examples:
      difyctl emulator serve --seed demo --apps 100 --latency-ms 200 --jitter-ms 50 --latency-dist lognormal
      difyctl emulator serve --max-active-requests 4 --rate-limit-rate 0.1 --error-rate 0.05
      difyctl emulator serve --state emulator.json   # keep apps, keys and versions across restarts
      difyctl emulator serve --dify-version 1.13.2   # DSL 0.6.0, streams of the older server
    """
    from pathlib import Path

    from difyctl.emulator import EmulatorConfig, serve_forever
    from difyctl.errors import DifyctlError

    _check_options(host, dify_version, legacy_auth=legacy_auth, seed=seed, latency_dist=latency_dist)
    config = EmulatorConfig(
        host=host,
        port=port,
        seed=None if seed == "none" else seed,
        apps=apps,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        latency_dist=latency_dist,
        state_file=Path(state) if state else None,
        admin_api_key=admin_api_key,
        legacy_auth=legacy_auth,
        version=None if legacy_auth else dify_version,
        max_active_requests=max_active_requests,
        error_rate_5xx=error_rate,
        rate_limit_rate=rate_limit_rate,
        stream_cut_rate=stream_cut_rate,
        midstream_error_rate=midstream_error_rate,
        rng_seed=rng_seed,
    )

    try:
        serve_forever(config, _ready, _describe)
    except OSError as exc:
        raise DifyctlError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _check_options(host: str, dify_version: str, *, legacy_auth: bool, seed: str, latency_dist: str) -> None:
    """Exit 2 on an option the emulator cannot honour, before anything listens."""
    from difyctl.emulator import is_loopback
    from difyctl.emulator.faults import LATENCY_DISTRIBUTIONS
    from difyctl.errors import UsageError

    if not is_loopback(host):
        raise UsageError(
            f"--host {host} is not a loopback address: the emulator only listens on this machine",
            hint="use 127.0.0.1 (default), ::1 or localhost",
        )
    if dify_version not in SUPPORTED_VERSIONS:
        raise UsageError(
            f"--dify-version {dify_version}: choose one of {', '.join(SUPPORTED_VERSIONS)}",
            hint="these are the versions whose real traffic the emulator is tested against",
        )
    if legacy_auth and dify_version != DIFY_VERSION:
        raise UsageError("--legacy-auth already means Dify 1.8.1: drop --dify-version")
    if seed not in ("demo", "none"):
        raise UsageError(f"--seed {seed}: choose demo or none")
    if latency_dist not in LATENCY_DISTRIBUTIONS:
        raise UsageError(f"--latency-dist {latency_dist}: choose one of {', '.join(LATENCY_DISTRIBUTIONS)}")


def _ready(base_url: str) -> None:
    """The base URL on stdout, one line, once listening: what scripts wait for."""
    import sys

    sys.stdout.write(base_url + "\n")
    sys.stdout.flush()


def _describe(lines: list[str]) -> None:
    import sys

    sys.stderr.write("".join(line + "\n" for line in lines))
    sys.stderr.flush()
