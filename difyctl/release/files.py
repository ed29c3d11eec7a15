"""The files of a release: one DSL file, or a folder of them with an optional `difyctl.yaml` manifest.

Why a manifest and not an `x-difyctl:` key inside the DSL: Dify's importer (api/services/
app_dsl_service.py, `import_app`) only reads `version`, `kind`, `app`, `workflow` / `model_config` and
`dependencies` and ignores any other top-level key, but its exporter (`export_dsl`) builds the document
from scratch, so the key would vanish on every export and a file carrying it could never be
byte-identical to an export. The manifest keeps the DSL files exactly as Dify writes them.

Everything here runs before anything is sent: a malformed file or two files for one app stop the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from difyctl.errors import UsageError
from difyctl.fsutil import atomic_write
from difyctl.snapshots.dsl import read_dsl_file, secret_variables
from difyctl.snapshots.paths import write_flat
from difyctl.snapshots.results import RollbackTarget

MANIFEST = "difyctl.yaml"
DSL_SUFFIXES = (".yml", ".yaml")
MANIFEST_HEADER = (
    "# Which DSL file is which app, for `difyctl apply -f DIR` (written by `difyctl snapshot create\n"
    "# --layout flat`). The ids are used only against base_url; elsewhere files match apps by name.\n"
)


@dataclass(frozen=True)
class Manifest:
    base_url: str | None = None
    apps: dict[str, str] = field(default_factory=dict)  # file name -> app id

    def applies_to(self, base_url: str) -> bool:
        return self.base_url is None or self.base_url.rstrip("/") == base_url.rstrip("/")


@dataclass(frozen=True)
class ReleaseFile:
    path: Path
    target: RollbackTarget
    app_id: str | None = None  # pinned by the APP argument or the manifest
    pinned_by: str = ""  # argument | manifest

    @property
    def label(self) -> str:
        return self.target.label

    @property
    def name(self) -> str:
        return str(self.target.doc["app"].get("name") or "")

    @property
    def mode(self) -> str:
        return self.target.mode

    @property
    def secret_names(self) -> list[str]:
        return [str(v.get("name")) for v in secret_variables(self.target.doc)]


def read_manifest(folder: Path) -> Manifest | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    from difyctl import yamlio

    doc = yamlio.load_file(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("apps", {}), dict):
        raise UsageError(f"{path}: expected a mapping with an `apps:` mapping of file -> app id")
    apps: dict[str, str] = {}
    for name, entry in (doc.get("apps") or {}).items():
        app_id = entry.get("app_id") if isinstance(entry, dict) else entry
        if not isinstance(app_id, str) or not app_id:
            raise UsageError(f"{path}: `apps.{name}` needs an app_id")
        apps[str(name)] = app_id
    base_url = doc.get("base_url")
    return Manifest(str(base_url) if base_url else None, apps)


def _dsl_files(folder: Path) -> list[Path]:
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix in DSL_SUFFIXES and p.name != MANIFEST
    )
    if not files:
        raise UsageError(f"{folder}: no DSL files (*.yml, *.yaml)")
    return files


def load(path: Path, *, with_app: bool = False) -> tuple[list[ReleaseFile], Manifest | None]:
    """Parse every file (all of them, before anything is sent). `with_app`: an APP argument names the
    app (one FILE only). Without a manifest, two files naming one app are refused here already."""
    if path.is_dir():
        if with_app:
            raise UsageError("APP goes with -f FILE; with -f DIR the files name their apps")
        paths, manifest = _dsl_files(path), read_manifest(path)
    elif path.exists():
        paths, manifest = [path], read_manifest(path.parent)
    else:
        raise UsageError(f"{path}: no such file or folder")
    files = []
    for p in paths:
        raw, _doc = read_dsl_file(p)
        files.append(ReleaseFile(p, RollbackTarget.from_text(str(p), raw)))
    if manifest is None or with_app:
        check_duplicates(files)
    return files, manifest


def pin(
    files: list[ReleaseFile], manifest: Manifest | None, base_url: str, app_id: str | None = None
) -> list[ReleaseFile]:
    """Pin files to app ids: the APP argument, else the manifest when it was written for `base_url`
    (ids differ between instances; elsewhere files match apps by name)."""
    if app_id is not None:
        out = [ReleaseFile(f.path, f.target, app_id, "argument") for f in files]
    elif manifest is not None and manifest.applies_to(base_url):
        out = [
            ReleaseFile(f.path, f.target, manifest.apps[f.path.name], "manifest")
            if f.path.name in manifest.apps
            else f
            for f in files
        ]
    else:
        out = list(files)
    check_duplicates(out)
    return out


def check_duplicates(files: Iterable[ReleaseFile]) -> None:
    """Two files for one app (the same pinned id, or the same name where nothing is pinned): exit 2."""
    seen: dict[str, str] = {}
    for f in files:
        key = f"id:{f.app_id}" if f.app_id else f"name:{f.name}"
        if key in seen:
            what = f"app id {f.app_id}" if f.app_id else f"app {f.name!r}"
            raise UsageError(
                f"{seen[key]} and {f.label} both name {what}", hint="one file per app; remove or rename one"
            )
        seen[key] = f.label


# ------------------------------------------------------------------------------- seeding a repo
def write_flat_folder(folder: Path, exports: Iterable[tuple[Any, str]], base_url: str | None) -> list[Path]:
    """`snapshot create --layout flat`: each export written as is (`<slug>.yml`), plus the manifest.
    `exports` yields (App, text). Files of apps not exported this time are left alone."""
    taken: set[str] = set()
    previous = read_manifest(folder) if folder.is_dir() else None
    entries: dict[str, Any] = {}
    if previous is not None and previous.base_url == base_url:
        entries = {name: {"app_id": app_id} for name, app_id in previous.apps.items()}
    paths = []
    for app, text in exports:
        path = write_flat(folder, app.name, app.id, text, taken)
        entries = {k: v for k, v in entries.items() if v.get("app_id") != app.id}
        entries[path.name] = {"app_id": app.id, "name": app.name}
        paths.append(path)
    doc = {"version": 1, "base_url": base_url, "apps": dict(sorted(entries.items()))}
    text = MANIFEST_HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / MANIFEST, text.encode("utf-8"))
    return paths
