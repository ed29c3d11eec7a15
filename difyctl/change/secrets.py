"""What a change does to each secret variable, told before anything is sent and again in the result.

kept     the target has it blank, the live app has it: its live value is carried over
set      the value comes from `--secret` or from the file itself
removed  the live app has it, the target does not: after the change the app no longer has it
missing  the target has it blank and no value exists anywhere: refused unless blanks are allowed

Names only; values never leave the engine's memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from difyctl.snapshots.dsl import secret_variables


@dataclass(frozen=True)
class SecretPlan:
    kept: tuple[str, ...] = ()
    set: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    from_file: tuple[str, ...] = ()  # those of `set` whose value is in the file, not from --secret

    def to_dict(self) -> dict[str, list[str]]:
        return {k: list(getattr(self, k)) for k in ("kept", "set", "removed", "missing", "from_file")}

    @property
    def is_empty(self) -> bool:
        return not (self.kept or self.set or self.removed or self.missing)


def plan_secrets(
    target: Mapping[str, Any],
    live_names: Iterable[str],
    live_values: Mapping[str, str],
    supplied: Mapping[str, str],
) -> SecretPlan:
    """`live_names`: the secret variables the live app has (a plain export names them all);
    `live_values`: their values (an include_secret export); `supplied`: `--secret` values."""
    kept, given, missing, in_file = [], [], [], []
    names = []
    for var in secret_variables(target):
        name = str(var.get("name"))
        names.append(name)
        if name in supplied or var.get("value") not in ("", None):
            given.append(name)
            if name not in supplied:
                in_file.append(name)
        elif name in live_values:
            kept.append(name)
        else:
            missing.append(name)
    removed = sorted(set(live_names) - set(names))
    return SecretPlan(
        tuple(sorted(kept)),
        tuple(sorted(given)),
        tuple(removed),
        tuple(sorted(missing)),
        tuple(sorted(in_file)),
    )
