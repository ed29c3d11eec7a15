"""profile list | show | use | delete."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from difyctl.commands._common import OutputOpt, ProfileOpt, VerboseOpt, YesOpt, app_context

app = typer.Typer(help="Manage profiles (one per Dify server/account).", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Profile name.")]


@app.command("list")
def list_profiles(ctx: typer.Context, output: OutputOpt = None, verbose: VerboseOpt = False) -> None:
    """List profiles; `*` marks the current one.

    \b
    Example:
      difyctl profile list -o json
    """
    actx = app_context(ctx, output, verbose=verbose)
    profiles = actx.profiles()
    current = actx.profile_name
    docs = [
        {"name": n, "current": n == current, **p.to_yaml_dict()} for n, p in sorted(profiles.profiles.items())
    ]

    def text(o: Any) -> None:
        if not docs:
            o.info("no profiles yet: run `difyctl login`")
            return
        o.table(
            ["", "NAME", "BASE URL", "EMAIL", "AUTH", "APPS"],
            [
                [
                    "*" if d["current"] else "",
                    d["name"],
                    d["base_url"],
                    d.get("email", ""),
                    d["auth"],
                    len(d.get("apps", {})),
                ]
                for d in docs
            ],
        )

    actx.out.emit(docs, text=text)


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Profile name (default: current).")] = "",
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Show one profile (no secrets: those are in the keyring)."""
    actx = app_context(ctx, output, verbose=verbose)
    profile = actx.profiles().get(name or actx.profile_name)
    doc = {
        "name": profile.name,
        **profile.to_yaml_dict(),
        "logged_in": actx.credentials.get_session(profile.name) is not None,
    }
    actx.out.emit(doc)


@app.command("use")
def use(ctx: typer.Context, name: NameArg, output: OutputOpt = None, verbose: VerboseOpt = False) -> None:
    """Make NAME the current profile.

    \b
    Example:
      difyctl profile use prod
    """
    actx = app_context(ctx, output, verbose=verbose)
    profiles = actx.profiles()
    profiles.get(name)
    profiles.current = name
    profiles.save()
    actx.out.emit({"current": name}, text=lambda o: o.success(f"current profile: {name}"))


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: NameArg,
    yes: YesOpt = False,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Delete a profile and every secret stored for it (session, app keys).

    \b
    Example:
      difyctl profile delete staging --yes
    """
    from difyctl.output.prompt import confirm

    actx = app_context(ctx, output, verbose=verbose)
    profiles = actx.profiles()
    profiles.get(name)
    confirm(f"Delete profile {name!r} and its stored secrets?", yes=yes)
    removed = actx.credentials.delete_profile(name)
    del profiles.profiles[name]
    if profiles.current == name:
        profiles.current = next(iter(sorted(profiles.profiles)), None)
    profiles.save()
    actx.out.emit(
        {"deleted": name, "secrets_removed": removed},
        text=lambda o: o.success(f"deleted profile {name!r} ({removed} stored secret(s) removed)"),
    )


alias_app = typer.Typer(
    help="Short names for apps: `difyctl run bot ...` after `profile alias set bot APP`.",
    no_args_is_help=True,
)
app.add_typer(alias_app, name="alias")
AliasArg = Annotated[str, typer.Argument(metavar="NAME", help="The short name (letters, digits, - _ .).")]


@alias_app.command("set")
def alias_set(
    ctx: typer.Context,
    alias: AliasArg,
    app_ref: Annotated[str, typer.Argument(metavar="APP", help="App id or exact name.")],
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Give an app a short name in the current profile (an id is stored; renaming the app keeps it).

    The alias works wherever an APP is asked for, and DIFY_API_KEY_<ALIAS> gives it a service key.

    \b
    Examples:
      difyctl profile alias set bot "Customer Support Bot"
      difyctl run bot "Where is my order?"
    """
    from difyctl.commands._aliases import set_alias

    actx = app_context(ctx, output, profile, verbose)
    doc = set_alias(actx, alias, app_ref)
    actx.out.emit(doc, text=lambda o: o.success(f"{doc['alias']} -> {doc['app_name'] or doc['app_id']}"))


@alias_app.command("list")
def alias_list(
    ctx: typer.Context, profile: ProfileOpt = None, output: OutputOpt = None, verbose: VerboseOpt = False
) -> None:
    """List the aliases of the current profile (alias, app id, and the key variable it reads).

    \b
    Example:
      difyctl profile alias list -o json
    """
    from difyctl.commands._aliases import list_aliases

    actx = app_context(ctx, output, profile, verbose)
    docs = list_aliases(actx)

    def text(o: Any) -> None:
        if not docs:
            o.info("no aliases yet: difyctl profile alias set ALIAS APP")
            return
        o.table(["ALIAS", "APP ID", "KEY VARIABLE"], [[d["alias"], d["app_id"], d["key_env"]] for d in docs])

    actx.out.emit(docs, text=text)


@alias_app.command("remove")
def alias_remove(
    ctx: typer.Context,
    alias: AliasArg,
    profile: ProfileOpt = None,
    output: OutputOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Remove an alias from the current profile (the app itself is not touched).

    \b
    Example:
      difyctl profile alias remove bot
    """
    from difyctl.commands._aliases import remove_alias

    actx = app_context(ctx, output, profile, verbose)
    doc = remove_alias(actx, alias)
    actx.out.emit(doc, text=lambda o: o.success(f"removed alias {alias} (was {doc['app_id']})"))
