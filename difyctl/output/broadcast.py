"""Broadcast rendering: the live table on stderr (TTY only) and the final text report on stdout.

The live table is a rich `Live` redrawn at most 8 times a second from the engine's callbacks (which
run on the event loop and only mutate a list: the redraw happens on rich's refresh thread).
Above `MAX_LIVE_ROWS` targets it shows the running/failed rows and a count line instead of all rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from difyctl.output import Output, _is_tty

if TYPE_CHECKING:
    from difyctl.broadcast.results import BroadcastResult, TargetResult

MAX_LIVE_ROWS = 40
FAILED_ROWS = 10  # above MAX_LIVE_ROWS targets: the latest failures shown live
ANSWER_WIDTH = 60
_STATUS_STYLE = {
    "ok": "green",
    "error": "red",
    "timeout": "yellow",
    "rate_limited": "yellow",
    "cancelled": "dim",
    "running": "cyan",
    "queued": "dim",
}


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def _error_text(res: TargetResult) -> str:
    if not res.error:
        return ""
    code = res.error.get("code") or ""
    message = str(res.error.get("message") or "")
    return f"{code}: {message}" if code and code not in message else message


class LiveTable:
    """`with LiveTable(out, names) as live:` then `live.start(i)` / `live.done(result)`."""

    def __init__(self, out: Output, names: Sequence[str]) -> None:
        self.enabled = out.format == "text" and not out.quiet and _is_tty(out.stderr)
        self._out = out
        self._names = list(names)
        self._state = ["queued"] * len(self._names)
        self._latency: list[str] = [""] * len(self._names)
        self._detail: list[str] = [""] * len(self._names)
        self._live: Any = None
        # kept as targets move, so a refresh never re-counts N states (1000+ targets: the table
        # collapses to these counts and the latest failures, refreshed 4 times a second)
        self._counts: dict[str, int] = {"queued": len(self._names)}
        self._failed: list[int] = []
        self._large = len(self._names) > MAX_LIVE_ROWS

    def __enter__(self) -> LiveTable:
        if self.enabled:
            from rich.live import Live

            self._live = Live(
                get_renderable=self._render,
                console=self._out._rich(self._out.stderr),
                refresh_per_second=4 if self._large else 8,
                transient=True,
                redirect_stdout=False,  # results go to stdout only after the fan-out
                redirect_stderr=False,
            )
            self._live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    def _move(self, index: int, state: str) -> None:
        old = self._state[index]
        self._counts[old] -= 1
        self._counts[state] = self._counts.get(state, 0) + 1
        self._state[index] = state

    def start(self, index: int) -> None:
        self._move(index, "running")

    def done(self, res: TargetResult) -> None:
        self._move(res.index, res.status)
        if not self.enabled:
            return
        self._latency[res.index] = _ms(res.latency_ms)
        if not res.ok:
            self._detail[res.index] = _error_text(res)[:ANSWER_WIDTH]
            self._failed.append(res.index)

    def _render(self) -> Any:
        from rich.table import Table

        table = Table(show_edge=False, header_style="bold", title="broadcast")
        for col in ("#", "target", "status", "ms", "detail"):
            table.add_column(col, overflow="ellipsis", no_wrap=True)
        rows: Sequence[int] = range(len(self._names))
        if self._large:  # the latest failures only; the caption counts everything
            rows = self._failed[-FAILED_ROWS:]
        for i in rows:
            state = self._state[i]
            table.add_row(
                str(i + 1),
                self._names[i],
                f"[{_STATUS_STYLE.get(state, '')}]{state}[/]",
                self._latency[i],
                self._detail[i],
            )
        finished = len(self._names) - self._counts.get("queued", 0) - self._counts.get("running", 0)
        counts = "  ".join(f"{k} {v}" for k, v in sorted(self._counts.items()) if v)
        table.caption = f"{finished}/{len(self._names)} done  {counts}"
        return table


def emit(out: Output, result: BroadcastResult, *, full: bool = False) -> None:
    """The command's result: `-o json` target by target (`write_json`), else `Output.emit` (text, YAML)."""
    if out.format == "json":
        write_json(out, result)
    else:
        out.emit(result.to_dict(), text=lambda o: render_text(o, result, full=full))


def write_json(out: Output, result: BroadcastResult) -> None:
    """`-o json`, one target at a time: the same bytes as `out.emit(result.to_dict())` (indent 2), without
    building every target's dict and the whole indented text at once (1000 targets: ~2-4 MB more at
    the end of the run, the process's peak). Each target's JSON is indented by its depth: a JSON
    document holds no raw newline (strings escape theirs), so re-indenting is a plain replace."""
    if not result.targets:
        out.emit(result.to_dict())
        return
    write = out.stdout.write
    write('{\n  "targets": [')
    sep = "\n    "
    for res in result.targets:
        write(sep + _json(res.to_dict()).replace("\n", "\n    "))
        sep = ",\n    "
    write('\n  ],\n  "summary": ' + _json(result.summary()).replace("\n", "\n  ") + "\n}\n")
    out.stdout.flush()


def _json(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str)  # as Output.emit (to_json)


def _answer_of(res: TargetResult) -> str:
    if res.outputs is not None:
        return json.dumps(res.outputs, ensure_ascii=False)
    return res.answer or ""


def _clip(text: str, full: bool) -> str:
    flat = text if full else " ".join(text.split())
    if full or len(flat) <= ANSWER_WIDTH:
        return flat
    return flat[: ANSWER_WIDTH - 1] + "…"


def _rungs(rungs: dict[str, int]) -> str:
    return ", ".join(f"{n} {rung}" for rung, n in sorted(rungs.items()))


def _validity(res: TargetResult) -> str:
    v = res.validation
    if v is None:
        return ""
    return str(v.get("rung")) if v.get("ok") else f"invalid ({len(v.get('errors') or [])} errors)"


def render_text(out: Output, result: BroadcastResult, *, full: bool = False) -> None:
    """Summary table (one row per target), the answers side by side, then the totals line."""
    rows = []
    checked = any(t.validation is not None for t in result.targets)
    for res in result.targets:
        tokens = res.tokens.get("total") or ""
        price = f"{res.price} {res.currency or ''}".strip() if res.price else ""
        rows.append(
            [
                res.name,
                res.mode or "",
                res.status,
                _ms(res.latency_ms),
                _ms(res.ttft_ms),
                tokens,
                price,
                res.attempts,
                *([_validity(res)] if checked else []),
                _clip(_error_text(res), full) if not res.ok else "",
            ]
        )
    cols = ["target", "mode", "status", "latency ms", "ttft ms", "tokens", "price", "tries"]
    cols += [*(["schema"] if checked else []), "error"]
    out.table(cols, rows, title=None)
    out.line("")
    if full:  # whole answers, one block each (they may span lines)
        for res in result.targets:
            out.line(f"== {res.name}{' [partial]' if res.partial else ''} ==", style="bold")
            out.line(_answer_of(res))
    else:
        answers = []
        for res in result.targets:
            text = _clip(_answer_of(res), full)
            answers.append([res.name, f"[partial] {text}" if res.partial else text])
        out.table(["target", f"answer (first {ANSWER_WIDTH} chars; --full for all)"], answers)
    out.line("")
    s = result.summary()
    lat = s["latency_ms"]
    prices = ", ".join(f"{v} {k}" for k, v in s["price"].items()) or "no price reported"
    out.line(
        f"{s['ok']} ok, {s['failed']} failed of {s['targets']} in {s['wall_ms'] / 1000:.2f} s"
        + (" (interrupted)" if result.interrupted else "")
    )
    if lat["p50"] is not None:
        out.line(
            f"latency ms: min {lat['min']:.0f} · p50 {lat['p50']:.0f} · p95 {lat['p95']:.0f} · "
            f"p99 {lat['p99']:.0f} · max {lat['max']:.0f}"
        )
    if "valid" in s:
        out.line(f"schema: {s['valid']} valid, {s['invalid']} invalid ({_rungs(s['rungs'])})")
    out.line(f"{tokens_line(s['tokens'])} · {prices}")


def tokens_line(tok: dict[str, int]) -> str:
    """`tokens: 69 (36 prompt + 17 completion + 16 unsplit)`: a workflow run reports only its total
    (workflow_finished has total_tokens, no prompt/completion), so the parts are summed honestly."""
    unsplit = tok["total"] - tok["prompt"] - tok["completion"]
    if tok["total"] == 0:
        return "tokens: 0"
    parts = [f"{tok['prompt']} prompt", f"{tok['completion']} completion"]
    if unsplit > 0:
        parts.append(f"{unsplit} unsplit (workflow runs report a total only)")
    return f"tokens: {tok['total']} ({' + '.join(parts)})"
