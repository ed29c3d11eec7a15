"""The secret plan says what happens to each secret variable: kept, set, removed, missing (issue 12)."""

from __future__ import annotations

import copy
from typing import Any

from difyctl.change.secrets import SecretPlan, plan_secrets


def _doc(**secrets: str) -> dict[str, Any]:
    return {
        "app": {"mode": "workflow", "name": "x"},
        "workflow": {
            "environment_variables": [
                {"name": name, "value": value, "value_type": "secret"} for name, value in secrets.items()
            ]
            + [{"name": "PLAIN", "value": "p", "value_type": "string"}]
        },
    }


def test_each_kind_of_secret_change_is_named() -> None:
    target = _doc(KEEP="", FROM_FILE="in-the-file", FROM_ENV="", NEW="")
    plan = plan_secrets(
        target,
        live_names=["KEEP", "GONE", "FROM_ENV"],
        live_values={"KEEP": "canary-kept", "GONE": "canary-gone", "FROM_ENV": "canary-old"},
        supplied={"FROM_ENV": "canary-new"},
    )
    assert plan == SecretPlan(
        kept=("KEEP",),
        set=("FROM_ENV", "FROM_FILE"),
        removed=("GONE",),
        missing=("NEW",),
        from_file=("FROM_FILE",),
    )
    assert "canary" not in str(plan.to_dict()) + repr(plan)  # names only, never values


def test_a_file_without_the_live_secret_removes_it_and_keeps_nothing() -> None:
    """The issue's case: API_TOKEN live, the file has no such variable -> removed, never "kept"."""
    plan = plan_secrets(_doc(), ["API_TOKEN"], {"API_TOKEN": "s"}, {})
    assert plan.removed == ("API_TOKEN",) and plan.kept == () and not plan.is_empty


def test_no_secrets_anywhere_is_an_empty_plan() -> None:
    assert plan_secrets(_doc(), [], {}, {}).is_empty
    blank = copy.deepcopy(_doc(ONLY=""))
    assert plan_secrets(blank, [], {}, {}).missing == ("ONLY",)
