"""profile list | show | use | delete."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from difyctl.commands._common import OutputOpt, YesOpt, app_context

app = typer.Typer(help="Manage profiles (one per Dify server/account).", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Profile name.")]


@app.command("list")
def list_profiles(ctx: typer.Context, output: OutputOpt = None) -> None:
    """List profiles; `*` marks the current one.

    \b
    Example:
      difyctl profile list -o json
    """
    actx = app_context(ctx, output)
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
) -> None:
    """Show one profile (no secrets: those are in the keyring)."""
    actx = app_context(ctx, output)
    profile = actx.profiles().get(name or actx.profile_name)
    doc = {
        "name": profile.name,
        **profile.to_yaml_dict(),
        "logged_in": actx.credentials.get_session(profile.name) is not None,
    }
    actx.out.emit(doc)


@app.command("use")
def use(ctx: typer.Context, name: NameArg, output: OutputOpt = None) -> None:
    """Make NAME the current profile.

    \b
    Example:
      difyctl profile use prod
    """
    actx = app_context(ctx, output)
    profiles = actx.profiles()
    profiles.get(name)
    profiles.current = name
    profiles.save()
    actx.out.emit({"current": name}, text=lambda o: o.success(f"current profile: {name}"))


@app.command("delete")
def delete(ctx: typer.Context, name: NameArg, yes: YesOpt = False, output: OutputOpt = None) -> None:
    """Delete a profile and every secret stored for it (session, app keys).

    \b
    Example:
      difyctl profile delete staging --yes
    """
    from difyctl.commands.confirm import confirm

    actx = app_context(ctx, output)
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
