"""The live table for many targets: counts kept as targets move, and only the latest failures drawn."""

from __future__ import annotations

import io

from difyctl.broadcast.results import TargetResult
from difyctl.output import Output
from difyctl.output.broadcast import FAILED_ROWS, LiveTable


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_many_targets_collapse_to_counts_and_recent_failures() -> None:
    names = [f"app-{i}" for i in range(1000)]
    live = LiveTable(Output(stdout=Tty(), stderr=Tty(), color=True), names)
    assert live.enabled
    for i in range(300):
        live.start(i)
    for i in range(250):
        failed = i % 10 == 0
        res = TargetResult(i, names[i], names[i], status="error" if failed else "ok", latency_ms=200.0)
        res.error = {"code": "http_500", "message": "boom"} if failed else None
        live.done(res)
    table = live._render()
    assert table.caption == "250/1000 done  error 25  ok 225  queued 700  running 50"
    assert table.row_count == FAILED_ROWS  # not 1000 rows, nor the 225 that went well
    assert list(table.columns[1].cells) == [f"app-{i}" for i in range(150, 250, 10)]


def test_a_few_targets_are_all_drawn() -> None:
    live = LiveTable(Output(stdout=Tty(), stderr=Tty(), color=True), ["a", "b", "c"])
    live.start(0)
    live.done(TargetResult(0, "a", "a", status="ok", latency_ms=10.0))
    table = live._render()
    assert table.row_count == 3 and table.caption == "1/3 done  ok 1  queued 2"
