"""quickstart: a guided tour on the built-in emulator, printing each command it runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Union

import typer

from difyctl.commands._common import VerboseOpt, app_context

if TYPE_CHECKING:
    from collections.abc import Callable

    from difyctl.output import Output

DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = "DemoPass123"  # the emulator's public demo account, not a secret


@dataclass(frozen=True)
class Edit:
    """A tour step that edits a file, shown as the equivalent `sed` command."""

    title: str
    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Write:
    """A tour step that writes a small file, shown as the equivalent heredoc."""

    title: str
    path: str
    content: str


TourStep = Union[tuple[str, list[str]], tuple[str, list[str], tuple[int, ...]], Edit, Write]  # noqa: UP007

ANSWER_SCHEMA = """{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["status", "data"],
  "properties": {
    "status": {"enum": ["success", "error"]},
    "data": {"type": "object", "required": ["echo"], "properties": {"echo": {"type": "string"}}}
  }
}
"""


def tour(base_url: str, workdir: str = ".") -> list[TourStep]:
    """(what it shows, argv[, accepted exit codes]) for each step, or an Edit.
    Later capabilities append their own steps here."""
    dsl_file = f"{workdir}/echo-workflow.yml"
    return [
        (
            "Log in (the password comes from DIFY_PASSWORD, --stdin or a prompt; never a flag)",
            ["login", "--base-url", base_url, "--email", DEMO_EMAIL],
        ),
        ("Who am I, and which server?", ["status"]),
        ("The apps of the workspace", ["apps", "list"]),
        ("Ask a chat app (blocking)", ["run", "echo-chat", "Hello from the difyctl quickstart"]),
        ("Stream the answer token by token", ["run", "echo-chat", "Streaming works too", "--stream"]),
        (
            "Run a workflow with inputs, as JSON for scripts",
            ["run", "echo-workflow", "--input", "query=hello", "-o", "json"],
        ),
        ("An app that answers JSON as text", ["run", "json-chat", "ping"]),
        Write("A JSON Schema for that answer", f"{workdir}/answer.schema.json", ANSWER_SCHEMA),
        (
            "Validate the live answer (parse -> repair -> schema); --reask N asks again with the errors",
            ["run", "json-chat", "ping", "--schema", f"{workdir}/answer.schema.json"],
        ),
        *_snapshot_tour(dsl_file),
        (
            "Broadcast one question to every app at once: latency, tokens and failures side by side",
            ["broadcast", "What is Dify?", "--all"],
        ),
        *_rotation_tour(f"{workdir}/app.env"),
    ]


def _rotation_tour(dotenv: str) -> list[TourStep]:
    """Rotate a service key with its checks, then the health of every key."""
    return [
        ("The service API keys of an app (masked)", ["keys", "list", "echo-chat"]),
        (
            "Rotate it: create -> test (info + probe) -> promote (keyring + .env sink) -> revoke the old one",
            [
                "keys",
                "rotate",
                "echo-chat",
                "--probe",
                "ping",
                "--sink",
                f"dotenv:{dotenv}:DIFY_API_KEY",
                "--yes",
            ],
        ),
        ("Every app's key still works (GET /v1/info, no tokens spent)", ["health", "--all"]),
    ]


def _snapshot_tour(dsl_file: str) -> list[TourStep]:
    """Snapshot, change the app, diff, roll back."""
    return [
        (
            "Snapshot the published workflow (DSL file + sidecar with checksums; DIFYCTL_SNAPSHOT_DIR)",
            [
                "snapshot",
                "create",
                "echo-workflow",
                "--tag",
                "before-tour",
                "-m",
                "before the quickstart change",
            ],
        ),
        ("Unchanged content is not snapshotted twice", ["snapshot", "create", "echo-workflow"]),
        ("Export the published DSL to a file", ["export", "echo-workflow", "-f", dsl_file]),
        Edit(
            "Change the app as you would in an editor: its output `result` becomes `reply`",
            dsl_file,
            "variable: result",
            "variable: reply",
        ),
        (
            "Plan: semantic diff against the live app, nothing applied (--exit-code: exit 1 = changes)",
            ["apply", "-f", dsl_file, "--dry-run", "--exit-code"],
            (1,),
        ),
        (
            "Apply: pre-change snapshot, import, publish (with your message), verify, probe",
            ["apply", "-f", dsl_file, "--yes", "--message", "quickstart: result -> reply"],
        ),
        (
            "The workflow now answers `reply`",
            ["run", "echo-workflow", "--input", "query=hello", "-o", "json"],
        ),
        (
            "What changed since the snapshot? (exit 1: different)",
            ["snapshot", "diff", "echo-workflow", "before-tour", "live"],
            (0, 1),
        ),
        (
            "Dify's own published versions (rollback --version ID works too)",
            ["versions", "list", "echo-workflow"],
        ),
        (
            "Roll back to the snapshot (restored automatically if anything fails)",
            ["rollback", "echo-workflow", "before-tour", "--yes"],
        ),
        (
            "Live equals the snapshot again (exit 0: no differences)",
            ["snapshot", "diff", "echo-workflow", "before-tour", "live"],
        ),
    ]


def quickstart(
    ctx: typer.Context,
    keep_running: Annotated[
        bool,
        typer.Option("--keep-running", help="Leave the emulator running after the tour (Ctrl-C stops it)."),
    ] = False,
    verbose: VerboseOpt = False,
) -> None:
    """Start a built-in Dify emulator and walk through difyctl on it. Nothing to install or configure.

    Each step prints the command it runs, so you can repeat it against the emulator
    (`difyctl emulator serve --seed demo`) or your own Dify.
    """
    import os
    import tempfile

    from difyctl.emulator import EmulatorConfig, EmulatorServer

    actx = app_context(ctx, verbose=verbose)
    out = actx.out
    run_cli = ctx.find_root().obj.rerun  # difyctl.cli.run, handed down (importing it is a cycle)
    with (
        tempfile.TemporaryDirectory(prefix="difyctl-quickstart-") as tmp,
        EmulatorServer(EmulatorConfig(seed="demo")) as emu,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DIFY_", "DIFYCTL_"))}
        env.update(DIFYCTL_CONFIG_DIR=tmp, DIFYCTL_KEYRING="off", DIFY_PASSWORD=DEMO_PASSWORD, NO_COLOR="1")
        out.success(f"Dify emulator running at {emu.base_url} (demo account {DEMO_EMAIL} / {DEMO_PASSWORD})")
        env["DIFYCTL_SNAPSHOT_DIR"] = os.path.join(tmp, "snapshots")
        for step in tour(emu.base_url, workdir=tmp):
            _play(out, step, run_cli, env)
        out.line("")
        out.success(
            "Tour finished. Next: `difyctl emulator serve --seed demo` in one terminal, "
            f"then `difyctl login --base-url URL --email {DEMO_EMAIL}` in another."
        )
        if keep_running:
            _wait_for_ctrl_c(out, emu.base_url)


def _play(out: Output, step: TourStep, run_cli: Callable[..., int], env: dict[str, str]) -> None:
    """Show one step of the tour as the user would type it, then do it (exit 1 if a command fails)."""
    import shlex

    from difyctl.errors import DifyctlError

    out.line("")
    if isinstance(step, Write):
        out.info(f"# {step.title}")
        out.command(f"cat > {shlex.quote(step.path)} <<'EOF'\n{step.content}EOF")
        with open(step.path, "w", encoding="utf-8") as fh:
            fh.write(step.content)
        return
    if isinstance(step, Edit):
        out.info(f"# {step.title}")
        out.command(shlex.join(["sed", "-i", f"s/{step.old}/{step.new}/", step.path]))
        with open(step.path, encoding="utf-8") as fh:
            text = fh.read()
        with open(step.path, "w", encoding="utf-8") as fh:
            fh.write(text.replace(step.old, step.new))
        return
    title, argv, *accepted = step
    out.info(f"# {title}")
    prefix = f"DIFY_PASSWORD={DEMO_PASSWORD} " if argv[0] == "login" else ""
    out.command(prefix + "difyctl " + shlex.join(argv))
    code = run_cli(argv, env=env)
    if code not in (accepted[0] if accepted else (0,)):
        raise DifyctlError(f"quickstart step `difyctl {shlex.join(argv)}` failed with exit code {code}")


def _wait_for_ctrl_c(out: Output, base_url: str) -> None:
    import time

    out.info(f"emulator still running at {base_url}; Ctrl-C to stop")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return
