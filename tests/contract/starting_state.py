"""The state a recording starts on, rebuilt in a fresh emulator before the replay.

The 1.13.2 recording starts on an empty server (it runs setup itself). The 1.16.0 one starts on a
server already set up (fixtures/dify-1.16.0/README.md, "Starting state"): an owner and four apps. They
are rebuilt here from what the recording itself shows: the owner from the first login (email, base64
password) and profile (name); the apps from the first app list (names, modes, descriptions), each with
the DSL of a recorded import of the same description, else the emulator's demo app of that name;
the service keys the recording uses without creating them, on the app their first answer names.
Everything the emulator makes (ids, tokens) is then mapped from the recorded value to its own.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import yaml

from difyctl.emulator import EmulatorServer
from difyctl.emulator.seed import create_published_app, demo_dsls

from .replay import Exchange, Replayer

# Recorded service keys of seeded apps -> the app they belong to. 1.16.0/037 (GET /v1/info with
# app-VRrq...) names echo-workflow; 1.16.0/043 answers "hello" to "hello" in advanced-chat mode with
# app-V89P..., which is echo-chat (json-chat would answer a JSON document).
SEEDED_KEYS = {
    "dify-1.16.0": {
        "app-VRrqKerUEzD4xAoflcTQOgXR": "echo-workflow",
        "app-V89PH8wi1hcJaasQC1i4QA7K": "echo-chat",
    }
}
# The secret the seeded echo-workflow holds (its value streams out in 1.16.0/040).
SEEDED_SECRET = "s3cr3t-canary-value"


@dataclass
class Owner:
    email: str
    password: str
    name: str


def _first(exchanges: list[Exchange], method: str, path: str, status: int) -> Exchange | None:
    for ex in exchanges:
        req = ex.request
        if req["method"] == method and req["path"].split("?")[0] == path and ex.response["status"] == status:
            return ex
    return None


def needs_seed(exchanges: list[Exchange]) -> bool:
    """True when the recording logs in without having run setup first."""
    return _first(exchanges, "POST", "/console/api/setup", 201) is None


def owner_of(exchanges: list[Exchange]) -> Owner:
    login = _first(exchanges, "POST", "/console/api/login", 200)
    profile = _first(exchanges, "GET", "/console/api/account/profile", 200)
    assert login is not None and profile is not None, "a seeded recording logs in and reads the profile"
    body = login.request["body"]
    password = base64.b64decode(body["password"]).decode()
    return Owner(str(body["email"]), password, str(profile.response["json"]["name"]))


def _recorded_dsl(exchanges: list[Exchange], description: str) -> dict[str, Any] | None:
    for ex in exchanges:
        body = ex.request.get("body")
        if (
            ex.request["path"].endswith("/apps/imports")
            and isinstance(body, dict)
            and body.get("yaml_content")
        ):
            try:
                doc = yaml.safe_load(body["yaml_content"])
            except yaml.YAMLError:
                continue  # 1.16.0/030 imports broken YAML on purpose
            if isinstance(doc, dict) and (doc.get("app") or {}).get("description") == description:
                return dict(doc)
    return None


def _dsl_for(exchanges: list[Exchange], listed: dict[str, Any], dsl_version: str) -> dict[str, Any]:
    doc = _recorded_dsl(exchanges, str(listed["description"]))
    if doc is None:
        demos = {d["app"]["name"]: d for d in demo_dsls(0, dsl_version)}
        doc = demos[str(listed["name"])]
    doc["app"] = {**doc["app"], "name": listed["name"], "description": listed["description"]}
    for var in (doc.get("workflow") or {}).get("environment_variables") or []:
        if var.get("value_type") == "secret":
            var["value"] = SEEDED_SECRET
    return doc


def seed(server: EmulatorServer, exchanges: list[Exchange], replayer: Replayer, recording: str) -> None:
    """Rebuild the starting state and teach ``replayer`` the recorded ids of what was rebuilt."""
    emu, state = server.emulator, server.state
    owner = owner_of(exchanges)
    listing = _first(exchanges, "GET", "/console/api/apps", 200)
    assert listing is not None, "a seeded recording lists its apps"
    keys = SEEDED_KEYS.get(recording, {})
    with state.mutate():
        account = state.add_account(owner.email, owner.name, owner.password, "owner")
        state.tenant_name = f"{owner.name}'s Workspace"
        state.setup_at = emu.now()
    # created oldest first, as the recorded list (newest first) shows them
    for listed in reversed(listing.response["json"]["data"]):
        with state.mutate():
            app = create_published_app(emu, account, _dsl_for(exchanges, listed, emu.behaviour.dsl_version))
        replayer.mapping[str(listed["id"])] = app.id
        for token, name in keys.items():
            if name == listed["name"]:
                replayer.mapping[token] = app.api_keys[0].token
