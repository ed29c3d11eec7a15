"""Demo data: an owner, an editor and four published apps with one service key each (real DSL shapes)."""

from __future__ import annotations

from typing import Any

from difyctl.emulator import dsl
from difyctl.emulator.config import (
    CURRENT_DSL_VERSION,
    DEMO_EMAIL,
    DEMO_NAME,
    DEMO_PASSWORD,
    EDITOR_EMAIL,
    EDITOR_PASSWORD,
)
from difyctl.emulator.models import Account, App
from difyctl.emulator.runtime import Emulator
from difyctl.emulator.templates import (
    answer_graph,
    default_features,
    default_model_config,
    echo_workflow_graph,
    json_answer_graph,
    text_variable,
)

SEEDS = ("demo", "none")
DEMO_PROVIDER = "langgenius/openai/openai"


def _workflow_dsl(
    name: str, mode: str, description: str, graph: dict[str, Any], dsl_version: str
) -> dict[str, Any]:
    return {
        "version": dsl_version,
        "kind": "app",
        "app": {
            "name": name,
            "mode": mode,
            "description": description,
            "icon": "🤖",
            "icon_background": "#FFEAD5",
        },
        "dependencies": [],
        "workflow": {
            "conversation_variables": [],
            "environment_variables": [],
            "features": default_features(),
            "graph": graph,
            "rag_pipeline_variables": [],
        },
    }


def demo_dsls(extra_apps: int = 0, dsl_version: str = CURRENT_DSL_VERSION) -> list[dict[str, Any]]:
    """The DSL documents of the demo apps, in creation order."""
    completion_form = [{"text-input": text_variable("query")}]
    docs = [
        _workflow_dsl(
            "echo-workflow",
            "workflow",
            "Start(query) -> End(result = query). No model provider needed.",
            echo_workflow_graph("query", "result"),
            dsl_version,
        ),
        _workflow_dsl(
            "echo-chat",
            "advanced-chat",
            "Start -> Answer echoing sys.query.",
            answer_graph("{{#sys.query#}}"),
            dsl_version,
        ),
        _workflow_dsl(
            "json-chat",
            "advanced-chat",
            "Start -> Template (tojson) -> Answer: a JSON document built from sys.query.",
            json_answer_graph(),
            dsl_version,
        ),
        {
            "version": dsl_version,
            "kind": "app",
            "app": {
                "name": "echo-completion",
                "mode": "completion",
                "description": "Completion echoing {{query}}.",
            },
            "dependencies": [],
            "model_config": default_model_config("completion", "{{query}}", completion_form),
        },
    ]
    for n in range(1, extra_apps + 1):
        docs.append(
            _workflow_dsl(
                f"echo-chat-{n:04d}",
                "advanced-chat",
                "Echo chatflow for load tests.",
                answer_graph("{{#sys.query#}}"),
                dsl_version,
            )
        )
    return docs


def create_published_app(emu: Emulator, account: Account, doc: dict[str, Any]) -> App:
    app = dsl.apply_dsl(emu, account, doc, None, {})
    if app.is_workflow_mode:
        dsl.publish_draft(emu, app, account, "v1", "seeded by the emulator")
    emu.state.add_key(app)
    return app


def seed(emu: Emulator, name: str | None, extra_apps: int = 0) -> None:
    """``demo`` creates the demo workspace; ``none``/None leaves the server waiting for /setup."""
    if name in (None, "none"):
        return
    if name != "demo":
        raise ValueError(f"unknown seed {name!r} (choose from {', '.join(SEEDS)})")
    state = emu.state
    with state.mutate():
        owner = state.add_account(DEMO_EMAIL, DEMO_NAME, DEMO_PASSWORD, "owner")
        state.add_account(EDITOR_EMAIL, "Editor", EDITOR_PASSWORD, "editor")
        state.tenant_name = f"{DEMO_NAME}'s Workspace"
        state.setup_at = emu.now()
        for doc in demo_dsls(extra_apps, emu.behaviour.dsl_version):
            create_published_app(emu, owner, doc)
        state.add_credential(DEMO_PROVIDER, "API KEY 1", {"openai_api_key": "sk-emulator-demo-key-0001"})
