"""keys list | create | revoke | set | rotate: the service API keys of apps, rotated safely."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, YesOpt, app_context
from difyctl.exit_codes import ExitCode

app = typer.Typer(help="Service API keys: list, create, revoke, store, rotate.", no_args_is_help=True)

AppArg = Annotated[str, typer.Argument(metavar="APP", help="App id, exact name or profile alias.")]
ShowSecretOpt = Annotated[bool, typer.Option("--show-secret", help="Print full keys (default: masked).")]


@app.command("list")
def list_keys(
    ctx: typer.Context,
    ref: AppArg,
    show_secret: ShowSecretOpt = False,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """List an app's service API keys: id, created, last used, token (masked).

    \b
    Examples:
      difyctl keys list echo-chat
      difyctl keys list echo-chat -o json | jq -r '.[].id'
    """
    from difyctl.jsonshape import key_doc
    from difyctl.output.rotation import when

    actx = app_context(ctx, output, profile, verbose)
    with actx.console() as console:
        found = actx.resolve_app(console, ref)
        keys = console.list_api_keys(found.id)
    stored = actx.credentials.get_app_key(actx.profile_name, found.id)
    docs = [key_doc(k, found, show_secret=show_secret) for k in keys]
    rows = [
        [
            d["id"],
            when(d["created_at"]),
            when(d["last_used_at"]) or "not reported",  # Dify 1.13 leaves it null (fixture 090)
            d["token"],
            "*" if k.token == stored else "",
        ]
        for d, k in zip(docs, keys, strict=True)
    ]
    actx.out.emit(docs, text=lambda o: o.table(["ID", "CREATED", "LAST USED", "TOKEN", "STORED"], rows))


@app.command("create")
def create(
    ctx: typer.Context,
    ref: AppArg,
    store: Annotated[
        bool, typer.Option("--store", help="Store the new key in the keyring for this app.")
    ] = False,
    show_secret: ShowSecretOpt = False,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Create a service API key (Dify allows 10 per app; an editor may create, only admins revoke).

    \b
    Examples:
      difyctl keys create echo-chat --store
      difyctl keys create echo-chat --show-secret -o json | jq -r .token
    """
    from difyctl.jsonshape import key_doc

    actx = app_context(ctx, output, profile, verbose)
    with actx.console() as console:
        found = actx.resolve_app(console, ref)
        key = console.create_api_key(found.id)
    if store:
        actx.credentials.set_app_key(actx.profile_name, found.id, key.token)
    doc = {**key_doc(key, found, show_secret=show_secret), "app": found.name, "stored": store}
    actx.out.emit(
        doc, text=f"created key {key.id} for {found.name}: {doc['token']}" + (" (stored)" if store else "")
    )


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    ref: AppArg,
    key_id: Annotated[
        str,
        typer.Argument(
            metavar="ID", help="The key id (see `keys list`), or - to read the key itself from stdin."
        ),
    ],
    yes: YesOpt = False,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Delete a service API key (admin/owner only). Requests with it fail at once.

    The key is named by its id, or by the key itself read from stdin with ID `-` (a leaked key: never
    on the command line, never printed back).

    \b
    Examples:
      difyctl keys revoke echo-chat 3f2c0a4e-... --yes
      printf %s "$LEAKED_KEY" | difyctl keys revoke echo-chat - --yes
    """
    from difyctl.errors import UsageError
    from difyctl.jsonshape import app_fields_of
    from difyctl.output.prompt import confirm
    from difyctl.redact import mask

    secret = key_id == "-"
    if secret:  # on a terminal typed without echo, as login's password; else one line of the pipe
        from difyctl.commands._keyops import read_secret_stdin
        from difyctl.output.prompt import ask_secret, stdin_is_tty

        pipe = 'printf %s "$KEY" | difyctl keys revoke APP -'
        key_id = ask_secret("Key to revoke", pipe) if stdin_is_tty() else read_secret_stdin("ID -")
    # a key given as itself stays masked; whatever came on stdin is a secret, prefix or not
    shown = mask(key_id) if secret or key_id.startswith("app-") else key_id
    confirm(f"Revoke key {shown} of app {ref}? Requests using it will fail at once.", yes=yes)
    actx = app_context(ctx, output, profile, verbose)
    with actx.console() as console:
        found = actx.resolve_app(console, ref)
        # an id in any case, as Dify's <uuid:api_key_id> route takes it (api/controllers/console/apikey.py)
        keys = console.list_api_keys(found.id)
        key = next((k for k in keys if key_id == k.token or key_id.lower() == k.id.lower()), None)
        if key is None:  # the server's own 404 would say only "API key not found" (or, for no UUID, no route)
            raise UsageError(
                f"app {found.name!r} has no key {shown}", hint=f"`difyctl keys list {ref}` shows its ids"
            )
        console.delete_api_key(found.id, key.id)
    key_id, token = key.id, key.token
    if token and actx.credentials.get_app_key(actx.profile_name, found.id) == token:
        actx.credentials.delete_app_key(actx.profile_name, found.id)
        actx.out.warn("that was the stored key of this app: it was removed from the keyring too")
    actx.out.emit(
        {"app": found.name, "revoked": key_id, **app_fields_of(found)},
        text=f"revoked key {key_id} of {found.name}",
    )


@app.command("set")
def set_key(
    ctx: typer.Context,
    ref: AppArg,
    key_stdin: Annotated[
        bool, typer.Option("--stdin", "--key-stdin", help="Read the key from stdin (required).")
    ] = False,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Store a key you already have (no console access needed): checked with GET /v1/info first.

    APP is a profile alias or app id (or a name, when you are logged in).

    \b
    Example:
      printf %s "$KEY" | difyctl keys set support-bot --stdin
    """
    from difyctl.commands._keyops import store_known_key

    actx = app_context(ctx, output, profile, verbose)
    doc = store_known_key(actx, ref, key_stdin)
    actx.out.emit(doc, text=f"stored key {doc['key']} for app {doc['app']} ({doc['mode']})")


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    refs: Annotated[Optional[list[str]], typer.Argument(metavar="APP", help="Apps to rotate.")] = None,  # noqa: UP045
    all_apps: Annotated[bool, typer.Option("--all", help="Every app of the workspace.")] = False,
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            metavar="SECONDS",
            help="Seconds before the old key may be revoked (then --finish).",
            min=0,
        ),
    ] = 0,
    probe: Annotated[
        list[str] | None,
        typer.Option("--probe", metavar="TEXT", help="A query the new key must answer. Repeatable."),
    ] = None,  # noqa: UP045
    sink: Annotated[
        list[str] | None,
        typer.Option(
            "--sink",
            metavar="TEXT",
            help="dotenv:PATH:VAR or exec:'COMMAND'. exec runs WITHOUT a shell, the key in its environment "
            "as DIFY_NEW_API_KEY; for pipes or $VARS: exec:'sh -c \"...\"'. Repeatable; journaled, so "
            "--resume needs none.",
        ),
    ] = None,  # noqa: UP045
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue an interrupted rotation from its journal: it delivers to the journaled sinks "
            "(no --sink needed).",
        ),
    ] = False,
    replace_sinks: Annotated[
        bool,
        typer.Option(
            "--replace-sinks",
            help="With --resume: deliver to the --sink given now (none without --sink), not the "
            "journaled ones.",
        ),
    ] = False,
    finish: Annotated[
        bool, typer.Option("--finish", help="Revoke the old key of a promoted rotation.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --finish: do not wait for the grace period.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing.")] = False,
    prune_unused: Annotated[
        float | None,
        typer.Option(
            "--prune-unused",
            metavar="N",
            help="At the 10-key limit, first delete keys unused for N days.",
            min=0,
        ),
    ] = None,  # noqa: UP045
    yes: YesOpt = False,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> ExitCode:
    """Rotate service API keys: create -> test -> promote (keyring + sinks) -> finish (revoke old).

    Every phase is journalled with the sinks (config dir, 0600); one rotation per server + app at a
    time (lock). The old key is revoked only once every sink holds the new one. exec: sinks run without
    a shell. Ctrl-C / SIGTERM print what exists and the command that finishes it.
    Exit 0 all done, 1 failed (3 when some apps of several failed), 2 usage, 4 role too low,
    5 no server, 7 rate limited (for every app), 130 Ctrl-C, 143 SIGTERM.

    \b
    Examples:
      difyctl keys rotate echo-chat --probe "ping" --sink dotenv:.env:DIFY_API_KEY --yes
      difyctl keys rotate --all --grace 86400 --sink exec:'./update-k8s-secret.sh' --yes -o json
      difyctl keys rotate app --sink exec:'sh -c "printf %s \\"$DIFY_NEW_API_KEY\\" | my-tool"' --yes
      difyctl keys rotate --all --finish --yes        # a day later, from cron
      difyctl keys rotate echo-chat --resume --yes    # after a failure or a crash: same sinks
    """
    from difyctl.commands._keyops import rotate_many

    actx = app_context(ctx, output, profile, verbose)
    docs, code = rotate_many(
        actx,
        refs or [],
        all_apps,
        grace=grace,
        probes=probe or [],
        sinks=sink or [],
        resume=resume,
        replace_sinks=replace_sinks,
        finish=finish,
        force=force,
        dry_run=dry_run,
        prune_unused=prune_unused,
        yes=yes,
    )
    _render_rotations(actx.out, docs)
    return code


def _render_rotations(out: Any, docs: list[dict[str, Any]]) -> None:
    from difyctl.output.rotation import rotations

    out.emit(
        {"results": docs, "ok": all(d["exit_code"] == 0 for d in docs)}, text=lambda o: rotations(o, docs)
    )
