"""Every request difyctl's client can send is backed by evidence from a real Dify server.

Evidence is (a) a recorded exchange of that method and path (tests/contract/recordings), or (b) a row
of SOURCE_EVIDENCE naming the Dify source file and the function that serves it. A request backed by
neither is a guess shared by the client and the emulator (as `GET workspaces/current` was: the real
server answers 405, recording 1.16.0/009). The emulator must serve exactly the evidenced methods on
those paths, and answer any other method with Dify's 405 body (1.16.0/009).
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from difyctl.client import service
from difyctl.client.base import Call
from difyctl.client.console_calls import ConsoleCalls
from difyctl.client.session import REFRESH_PATH
from difyctl.emulator import EmulatorServer

RECORDINGS = Path(__file__).resolve().parent / "recordings"
CLIENT = Path(service.__file__).resolve().parent
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MODEL_PROVIDERS = "api/controllers/console/workspace/model_providers.py"

# (method, path template) -> the Dify source (langgenius/dify) that serves it, for requests no
# recording shows. Checked with the search tool's read_file on langgenius/dify.
SOURCE_EVIDENCE: dict[tuple[str, str], str] = {
    (
        "GET",
        "/console/api/workspaces/current/model-providers",
    ): f"{MODEL_PROVIDERS}: ModelProviderListApi.get",
    ("GET", "/console/api/workspaces/current/model-providers/{provider}/credentials"): (
        f"{MODEL_PROVIDERS}: ModelProviderCredentialApi.get"
    ),
    ("POST", "/console/api/workspaces/current/model-providers/{provider}/credentials"): (
        f"{MODEL_PROVIDERS}: ModelProviderCredentialApi.post"
    ),
    ("PUT", "/console/api/workspaces/current/model-providers/{provider}/credentials"): (
        f"{MODEL_PROVIDERS}: ModelProviderCredentialApi.put"
    ),
    ("DELETE", "/console/api/workspaces/current/model-providers/{provider}/credentials"): (
        f"{MODEL_PROVIDERS}: ModelProviderCredentialApi.delete"
    ),
    ("POST", "/console/api/workspaces/current/model-providers/{provider}/credentials/switch"): (
        f"{MODEL_PROVIDERS}: ModelProviderCredentialSwitchApi.post"
    ),
    ("POST", "/console/api/workspaces/current/model-providers/{provider}/credentials/validate"): (
        f"{MODEL_PROVIDERS}: ModelProviderValidateApi.post"
    ),
    ("POST", "/console/api/apps/{app_id}/model-config"): (
        "api/controllers/console/app/model_config.py: ModelConfigResource.post"
    ),
    ("POST", "/v1/completion-messages"): "api/controllers/service_api/app/completion.py: CompletionApi.post",
    # The client sends POST (recording 1.16.0/010); GET is the fallback for servers before 1.10.1.
    ("GET", "/console/api/workspaces/current"): (
        "api/controllers/console/workspace/workspace.py: TenantApi.get, until commit c432f601ab "
        "(langgenius/dify#27858, 2025-11-20, seen in fork-the-planet/dify) renamed it TenantApi.post"
    ),
}
# Methods the client does not send but Dify serves on a path it does use, so the emulator serves
# them too (an emulator that answered 405 there would differ from Dify). Werkzeug tries every rule that
# matches the path: PATCH/DELETE on workflows/draft|publish reach WorkflowByIdApi (<string:workflow_id>).
WORKFLOW_BY_ID = "api/controllers/console/app/workflow.py: WorkflowByIdApi"
SOURCE_EVIDENCE |= {
    ("PUT", "/console/api/apps/{app_id}"): "api/controllers/console/app/app.py: AppApi.put",
    ("PATCH", "/console/api/apps/{app_id}/workflows/draft"): f"{WORKFLOW_BY_ID}.patch",
    ("DELETE", "/console/api/apps/{app_id}/workflows/draft"): f"{WORKFLOW_BY_ID}.delete",
    ("PATCH", "/console/api/apps/{app_id}/workflows/publish"): f"{WORKFLOW_BY_ID}.patch",
    ("DELETE", "/console/api/apps/{app_id}/workflows/publish"): f"{WORKFLOW_BY_ID}.delete",
}
NOT_SENT = {k for k in SOURCE_EVIDENCE if k[1].endswith(("/apps/{app_id}", "/draft", "/publish"))}
# Rows for servers older than every recording: evidence, but the emulator's versions do not serve them.
LEGACY = {("GET", "/console/api/workspaces/current")}
# Paths with no route on a real server (a 404 HTML page whatever the method: 1.13.2/ and 1.16.0/004).
NO_ROUTE = {"/v1/"}


def _dummy_args(fn: Any) -> tuple[list[Any], dict[str, Any]]:
    """Arguments for a Call builder: each string parameter becomes its own ``{name}`` placeholder."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.default is not inspect.Parameter.empty:
            continue
        kind = str(param.annotation)
        value: Any = f"{{{param.name}}}"
        if "Mapping" in kind or "dict" in kind:
            value = {}
        elif "list" in kind or "Sequence" in kind or "Iterable" in kind:
            value = []
        elif kind.startswith("bool"):
            value = False
        if param.kind is param.KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            args.append(value)
    return args, kwargs


def client_requests() -> set[tuple[str, str]]:
    """(method, path template) of every request the client builds (the AST test below keeps this whole)."""
    calls: list[Call[Any]] = []
    for _, build in inspect.getmembers(ConsoleCalls, inspect.isfunction):
        args, kwargs = _dummy_args(build)
        made = build(*args, **kwargs)
        calls += list(made) if isinstance(made, tuple) else [made]
    calls += [value for value in vars(service).values() if isinstance(value, Call)]
    found = {(call.spec.method, unquote(call.spec.path)) for call in calls}
    for mode in service.ENDPOINTS:
        spec = service.run_spec(mode, query="q", inputs={}, user="u", conversation_id=None, streaming=False)
        found.add((spec.method, spec.path))
    found.add(("POST", "/console/api/login"))  # auth.login
    found.add(("POST", REFRESH_PATH))  # session._refresh_url
    return found


def recorded_requests() -> set[tuple[str, str]]:
    """(method, path) of recorded exchanges the server served (a 405 is evidence of the opposite)."""
    found = set()
    for path in RECORDINGS.glob("*/*.json"):
        exchange = json.loads(path.read_text())
        if exchange["response"]["status"] != 405:
            request = exchange["request"]
            found.add((request["method"], request["path"].split("?")[0]))
    return found


UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _matches(template: str, path: str) -> bool:
    """Flask's converters: ids are <uuid:...> (so "imports" is not an app id), a provider a <path:...>."""
    pattern = re.escape(template).replace(r"\{provider\}", ".+")
    pattern = re.sub(r"\\\{[a-z_]+\\\}", UUID, pattern)
    return re.fullmatch(pattern, path) is not None


def _recorded(method: str, template: str, recorded: set[tuple[str, str]]) -> bool:
    return any(method == m and _matches(template, p) for m, p in recorded)


def test_every_client_request_is_recorded_or_cited() -> None:
    recorded = recorded_requests()
    unbacked = sorted(
        (m, t)
        for m, t in client_requests()
        if not _recorded(m, t, recorded) and (m, t) not in SOURCE_EVIDENCE
    )
    assert not unbacked, f"no recording and no SOURCE_EVIDENCE row for {unbacked}"


def test_source_evidence_rows_are_needed_and_cite_a_file_and_function() -> None:
    """A row for a request the client no longer sends, or one a recording now shows, must go."""
    sent, recorded = client_requests(), recorded_requests()
    for (method, template), source in SOURCE_EVIDENCE.items():
        assert (method, template) in sent | LEGACY | NOT_SENT, (method, template)
        assert not _recorded(method, template, recorded), f"{method} {template} is recorded now"
        assert re.match(r"api/[\w/]+\.py: \w+\.(get|post|put|patch|delete)\b", source), source


def _enclosing_functions(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    def walk(node: ast.AST, where: str) -> Iterator[tuple[str, ast.Call]]:
        for child in ast.iter_child_nodes(node):
            name = where
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{where}.{child.name}" if where else child.name
            if isinstance(child, ast.Call) and getattr(child.func, "id", None) == "RequestSpec":
                yield where, child
            yield from walk(child, name)

    yield from walk(tree, "")


def test_client_requests_are_all_enumerated() -> None:
    """Every RequestSpec in difyctl/client/ is built where client_requests() looks (so none escapes)."""
    places = set()
    for path in sorted(CLIENT.glob("*.py")):
        for where, _ in _enclosing_functions(ast.parse(path.read_text())):
            places.add(f"{path.name}:{where.split('.')[0] if where.startswith('ConsoleCalls') else where}")
    assert places == {"console_calls.py:ConsoleCalls", "service.py:", "service.py:run_spec", "auth.py:login"}
    assert REFRESH_PATH == "/console/api/refresh-token"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(seed=None) as server:
        yield server


def test_emulator_serves_exactly_the_evidenced_methods(emulator: EmulatorServer) -> None:
    method_not_allowed = json.loads(
        (RECORDINGS / "dify-1.16.0" / "009-console-workspace-current-GET-405.json").read_text()
    )
    expected_body = method_not_allowed["response"]["json"]
    recorded = recorded_requests()
    evidenced = {key for key in SOURCE_EVIDENCE if key not in LEGACY}
    templates = {t for _, t in client_requests()} - NO_ROUTE
    wrong = []
    client = httpx.Client(base_url=emulator.base_url)
    for template in sorted(templates):
        served = {m for m in METHODS if _recorded(m, template, recorded) or (m, template) in evidenced}
        path = re.sub(r"\{provider\}", "langgenius/openai/openai", template)
        path = re.sub(r"\{[a-z_]+\}", "00000000-0000-4000-8000-000000000000", path)
        for method in METHODS:
            response = client.request(method, path, json={})
            if method in served and response.status_code == 405:
                wrong.append(f"{method} {template}: 405, but Dify serves it")
            if method not in served and response.status_code != 405:
                wrong.append(f"{method} {template}: {response.status_code}, but Dify answers 405")
            if method not in served and response.status_code == 405 and response.json() != expected_body:
                wrong.append(f"{method} {template}: 405 body {response.text}")
    client.close()
    assert not wrong, "\n".join(wrong)
