"""The text outcome of a change names the sides the user asked about (issue 12 item 6)."""

from __future__ import annotations

import io
from typing import Any

from difyctl.change.engine import ChangeEngine
from difyctl.output import Output
from difyctl.output.rollback import render_result
from difyctl.snapshots.dsl import dump_dsl
from difyctl.snapshots.results import APPLIED, RollbackTarget
from difyctl.snapshots.store import SnapshotStore
from tests.snapshots.conftest import APP_ID, Clock
from tests.snapshots.fakes import FakeConsole


def test_a_promote_outcome_names_both_profiles_the_right_way_round(
    store: SnapshotStore, clock: Clock, v1: dict[str, Any], v2: dict[str, Any]
) -> None:
    """`promote APP --to prod` changes prod:APP to default:APP's DSL. The outcome line said
    "promote of APP to default:APP", which reads as if default were the destination."""
    fake = FakeConsole()
    fake.add_app(v1, APP_ID)
    engine = ChangeEngine(fake, store, clock=clock, verb="promote")
    target = RollbackTarget.from_text("default:ew", dump_dsl(v2))
    result = engine.apply(engine.plan(APP_ID, target), yes=True, allow_blank=True)
    assert result.status == APPLIED
    stdout = io.StringIO()
    render_result(
        Output(stdout=stdout, stderr=io.StringIO(), color=False),
        result,
        verb="promote",
        sides=("prod:ew", "default:ew"),
    )
    assert "promote default:ew -> prod:ew: applied and verified" in stdout.getvalue()
    assert " to default:ew" not in stdout.getvalue()
