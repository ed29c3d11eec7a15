"""Pure units: graph execution and streaming order, input validation, templates, JWT."""

from __future__ import annotations

import pytest

from difyctl.emulator import jwt
from difyctl.emulator.engine import (
    GraphRunner,
    InputError,
    parse_template,
    render_jinja_lite,
    validate_inputs,
)
from difyctl.emulator.templates import answer_graph, echo_workflow_graph, json_answer_graph, text_variable


def test_answer_template_chunks_follow_variable_availability() -> None:
    run = GraphRunner("advanced-chat", {}, {"query": "hi"}, {}).run(json_answer_graph())
    assert [n.node_type for n in run.nodes] == ["start", "template-transform", "answer"]
    assert run.answer == '{"status": "success", "data": {"echo": "hi"}}'
    assert [(c.text, c.after) for c in run.chunks] == [
        ('{"status": "success", "data": {"echo": ', 0),
        ('"hi"', 1),
        ("}}", 1),
    ]


def test_workflow_end_outputs_stream_as_text_chunks() -> None:
    run = GraphRunner("workflow", {"query": "q"}, {"user_id": "u"}, {}).run(
        echo_workflow_graph("query", "out")
    )
    assert run.outputs == {"out": "q"}
    assert [(c.text, c.selector, c.after) for c in run.chunks] == [("q", ["start", "query"], 0)]


def test_env_and_sys_variables_resolve() -> None:
    graph = answer_graph("{{#env.GREETING#}}, {{#sys.query#}} ({{#sys.missing#}})")
    run = GraphRunner("advanced-chat", {}, {"query": "bob"}, {"GREETING": "hello"}).run(graph)
    assert run.answer == "hello, bob ()"


def test_validate_inputs_messages() -> None:
    form = [text_variable("query"), {"variable": "n", "type": "number", "required": False}]
    assert validate_inputs(form, {"query": "x", "n": "3"}) == {"query": "x", "n": 3}
    with pytest.raises(InputError, match="query is required in input form"):
        validate_inputs(form, {})
    with pytest.raises(InputError, match="must be less than 256 characters"):
        validate_inputs(form, {"query": "x" * 257})
    with pytest.raises(InputError, match="must be a valid number"):
        validate_inputs(form, {"query": "x", "n": "abc"})
    select = [{"variable": "c", "type": "select", "required": True, "options": ["a", "b"]}]
    with pytest.raises(InputError, match="must be one of the following"):
        validate_inputs(select, {"c": "z"})


def test_templates() -> None:
    segments = parse_template("a {{#x.y#}} b")
    assert [(s.text, s.selector) for s in segments] == [("a ", None), ("", ["x", "y"]), (" b", None)]
    assert render_jinja_lite("{{ q | tojson }}/{{ q | upper }}", {"q": 'a"b'}) == '"a\\"b"/A"B'


def test_jwt_round_trip_and_failures() -> None:
    token = jwt.encode({"sub": "u", "exp": 100}, b"k")
    assert token.startswith("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.")
    assert jwt.decode(token, b"k", 50)["sub"] == "u"
    for secret, now, reason in [(b"k", 100, "expired"), (b"other", 50, "signature")]:
        with pytest.raises(jwt.TokenError) as info:
            jwt.decode(token, secret, now)
        assert info.value.reason == reason
    with pytest.raises(jwt.TokenError):
        jwt.decode("garbage", b"k", 0)
