"""One shape per concept in `-o json` (issue 15, item 5): the app, times, latencies.

Added without breaking what scripts read today: no key changes type or disappears.
- An app object itself is `{id, name, mode, ...}` (apps list/show).
- A result *about* an app also carries `app_id`, `app_name` and `app_mode` (`app_fields`), beside the
  keys each command had (`app`, `name`, `mode`...).
- Times: where a command gives epoch seconds (`created_at: 1763630000`), an ISO 8601 UTC string sits
  beside it under the same name + `_iso` (`created_at_iso: "2025-11-20T09:13:20Z"`).
- Latencies in milliseconds are rounded to 0.1 ms (`ms`).

`docs/json.md` documents each command's shape, generated from `difyctl.jsonshapes` (the result
classes' TypedDicts); a test fails when it is stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any


def app_fields(app_id: str | None, app_name: str | None, app_mode: str | None) -> dict[str, str | None]:
    """The three keys every result about an app carries."""
    return {"app_id": app_id or None, "app_name": app_name or None, "app_mode": app_mode or None}


def app_fields_of(app: Any) -> dict[str, str | None]:
    """`app_fields` of a client App (or anything with id, name and mode)."""
    return app_fields(getattr(app, "id", None), getattr(app, "name", None), getattr(app, "mode", None))


def iso(ts: Any) -> str | None:
    """Epoch seconds as ISO 8601 UTC (`2025-11-20T09:13:20Z`); None stays None."""
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def with_iso(doc: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """`doc` with `<key>_iso` right after each epoch `key` (the order a reader expects)."""
    wanted = set(keys)
    out: dict[str, Any] = {}
    for key, value in doc.items():
        out[key] = value
        if key in wanted:
            out[f"{key}_iso"] = iso(value)
    return out


def ms(value: float | None) -> float | None:
    """A latency in milliseconds, rounded to 0.1 ms."""
    return None if value is None else round(float(value), 1)


# -- the documents commands build from several objects (one function each: the command and
# docs/json.md use the same one) -----------------------------------------------------------------
def key_doc(key: Any, app: Any, *, show_secret: bool = False) -> dict[str, Any]:
    """One service API key of an app (`keys list` rows, `keys create`)."""
    return {**key.to_dict(show_secret=show_secret), **app_fields_of(app)}


def version_doc(workflow: Any, app: Any) -> dict[str, Any]:
    """One published version of a workflow app (`versions list` rows)."""
    return {
        "id": workflow.id,
        "created_at": workflow.created_at,
        "created_at_iso": iso(workflow.created_at),
        "marked_name": workflow.marked_name,
        "marked_comment": workflow.marked_comment,
        "current": workflow.id == app.published_workflow_id,
        **app_fields_of(app),
    }


def export_doc(app: Any, *, draft: bool, include_secret: bool) -> dict[str, Any]:
    """What `export` says about the DSL it wrote (`dsl` or `path` + `bytes` are added)."""
    return {
        "app_id": app.id,
        "app_name": app.name,
        "mode": app.mode,
        "app_mode": app.mode,
        "draft": draft,
        "include_secret": include_secret,
    }


def run_doc(label: str, target: Any, result: Any) -> dict[str, Any]:
    """One run of an app (`run`): the RunResult, the app as typed (`app`) and its identity."""
    doc: dict[str, Any] = {"app": label, **result.to_dict()}
    doc.update(app_fields(target.app_id, target.name, result.mode or target.mode))
    return doc


def snapshot_app_fields(metas: list[Any]) -> dict[str, str | None]:
    """`app_fields` of an app known only from its snapshots (the newest one's sidecar); Nones without."""
    newest = metas[-1] if metas else None
    if newest is None:
        return app_fields(None, None, None)
    return app_fields(newest.app_id, newest.app_name, newest.app_mode)


def diff_doc(old_label: str, new_label: str, diff: Any, ident: dict[str, str | None]) -> dict[str, Any]:
    """`snapshot diff`: the two sides, the semantic diff (its `app` key lists app-level changes) and
    the app's identity."""
    return {"from": old_label, "to": new_label, **diff.to_dict(), **ident}


def prune_doc(result: Any, metas: list[Any]) -> dict[str, Any]:
    """`snapshot prune`: the tags removed, kept and protected, and the app's identity."""
    return {**result.to_dict(), **snapshot_app_fields(metas)}
