"""The on-disk snapshot store (DESIGN.md "Snapshots"): git-friendly, atomic, verifiable.

    <root>/store.json                        {"store_version": N, "migrations": [...]}
    <root>/<slug>-<id8>/<tag>.yml            the DSL exactly as exported (0600 when it holds secrets)
    <root>/<slug>-<id8>/<tag>.json           the sidecar: metadata + sha256 of the file + content hash
    <root>/<slug>-<id8>/<alias>.json         an alias: a tag given to unchanged content. Its sidecar says
                                             `alias_of: <tag>` and reads that tag's `.yml` (no copy)

The sidecar is written after the DSL file, so it is the commit marker: a crash leaves at worst an orphan
`.yml` or a `.tmp-*` file, never a sidecar that points at nothing.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from difyctl.errors import UsageError, file_error
from difyctl.fsutil import TEMP_PREFIX, atomic_write
from difyctl.snapshots.dsl import export_facts, parse_dsl
from difyctl.snapshots.paths import (
    app_folder_name,
    check_user_tag,
    id_suffix,
    is_safety,
    is_tag,
    validate_tag,
)

STORE_VERSION = 1
MANIFEST = "store.json"
PROTECT_PRE_ROLLBACK = _dt.timedelta(days=7)  # safety snapshots survive `prune` this long

Migration = Callable[[Path], None]
MIGRATIONS: dict[str, Migration] = {}


def migration(fn: Migration) -> Migration:
    """Register a named store migration (llm's migrations.py pattern): applied once, in order, recorded."""
    MIGRATIONS[fn.__name__] = fn
    return fn


@migration
def m001_initial(root: Path) -> None:
    """Version 1: per-app folders with <tag>.yml + <tag>.json. Nothing to convert."""


class ChecksumError(UsageError):
    """A snapshot file does not match the sha256 of its sidecar (edited by hand, or corrupt)."""


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def default_tag(now: _dt.datetime) -> str:
    return now.astimezone(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SnapshotMeta:
    """The sidecar of one snapshot (its JSON shape is `to_dict()`)."""

    tag: str
    created_at: str
    app_id: str
    app_name: str
    app_mode: str
    sha256: str
    content_hash: str
    message: str = ""
    base_url: str | None = None
    server_version: str | None = None
    dsl_version: str | None = None
    workflow_id: str | None = None
    draft: bool = False
    include_secret: bool = False
    alias_of: str | None = None  # an alias: this tag names the content stored under that tag
    folder: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any], folder: str) -> SnapshotMeta:
        """ValueError for a tag or alias that is no file name stem (`../../x`): the store becomes
        paths from them, and a store kept in git is edited by others."""
        if not _names_ok(d):
            raise ValueError(f"tag {d.get('tag')!r} / alias_of {d.get('alias_of')!r} is not a snapshot tag")
        return cls(
            tag=str(d["tag"]),
            created_at=str(d["created_at"]),
            app_id=str(d["app_id"]),
            app_name=str(d.get("app_name") or ""),
            app_mode=str(d.get("app_mode") or ""),
            sha256=str(d["sha256"]),
            content_hash=str(d.get("content_hash") or ""),
            message=str(d.get("message") or ""),
            base_url=d.get("base_url"),
            server_version=d.get("server_version"),
            dsl_version=d.get("dsl_version"),
            workflow_id=d.get("workflow_id"),
            draft=bool(d.get("draft")),
            include_secret=bool(d.get("include_secret")),
            alias_of=d.get("alias_of") or None,
            folder=folder,
        )

    @property
    def created(self) -> _dt.datetime:
        return _dt.datetime.fromisoformat(self.created_at.replace("Z", "+00:00"))

    @property
    def stored_as(self) -> str:
        """The tag whose `.yml` holds this snapshot's content."""
        return self.alias_of or self.tag

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("folder")
        if out["alias_of"] is None:
            out.pop("alias_of")  # sidecars of ordinary snapshots keep their shape
        return out


@dataclass(frozen=True)
class SaveResult:
    status: str  # created | unchanged | tagged (unchanged content, the new tag recorded as an alias)
    snapshot: SnapshotMeta  # the new snapshot, or the newest existing one with the same content
    path: Path

    @property
    def created(self) -> bool:
        return self.status == "created"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "path": str(self.path), **self.snapshot.to_dict()}


@dataclass(frozen=True)
class Problem:
    kind: str  # missing | sha-mismatch | unreadable-sidecar | orphan | symlinked-folder
    path: Path
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.path), "detail": self.detail}


@dataclass(frozen=True)
class LoadedSnapshot:
    meta: SnapshotMeta
    path: Path
    raw: bytes
    doc: dict[str, Any]
    verified: bool  # False: sha mismatch accepted with force

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8")


@dataclass(frozen=True)
class PruneResult:
    removed: tuple[SnapshotMeta, ...]
    kept: tuple[SnapshotMeta, ...]
    protected: tuple[SnapshotMeta, ...]  # would have gone, but are recent safety snapshots

    def to_dict(self) -> dict[str, Any]:
        return {k: [m.tag for m in getattr(self, k)] for k in ("removed", "kept", "protected")}


def _names(folder: Path, suffix: str) -> list[str]:
    """Snapshot files or sidecars of an app folder, by name; stale `.tmp-*` files of an interrupted
    write are not snapshots (atomic_write leaves none behind unless the process was killed). Listed with
    scandir and sorted as text, not globbed and sorted as Paths: every save reads its app's sidecars
    (an unchanged save at 100 snapshots of history: 6.9 -> 4.9 ms of CPU)."""
    try:
        with os.scandir(folder) as it:
            return sorted(
                e.name for e in it if e.name.endswith(suffix) and not e.name.startswith(TEMP_PREFIX)
            )
    except OSError:  # gone, or not a folder
        return []


def _files(folder: Path, suffix: str) -> list[Path]:
    return [folder / name for name in _names(folder, suffix)]


def _read_sidecar(path: Path, folder: str) -> SnapshotMeta:
    """A sidecar's metadata; ValueError (not JSON, not UTF-8), KeyError, TypeError, OSError or
    RecursionError (nested too deep) when it is not one. Bytes decoded here, not through a text
    stream: every save reads all its app's sidecars, and `read_text` took twice as long (21 vs 10 us
    each)."""
    return SnapshotMeta.from_dict(json.loads(path.read_bytes().decode("utf-8")), folder)


_REQUIRED = ("tag", "created_at", "app_id", "sha256")  # what `SnapshotMeta.from_dict` cannot do without


def _names_ok(doc: dict[str, Any]) -> bool:
    """Its tag and alias (when it has one) name files of its own folder, nothing outside it."""
    return is_tag(doc.get("tag")) and (not doc.get("alias_of") or is_tag(doc["alias_of"]))


def _sidecar_docs(folder: Path) -> list[dict[str, Any]]:
    """The sidecars of an app folder that describe a snapshot (a JSON object with the keys a
    `SnapshotMeta` needs), in name order; the others are verify()'s to report. Paths stay text, with no
    Path object each: every save reads all of its app's sidecars."""
    docs = []
    for name in _names(folder, ".json"):
        try:
            with open(os.path.join(folder, name), "rb") as f:
                doc = json.loads(f.read().decode("utf-8"))
        except (ValueError, OSError, RecursionError):  # RecursionError: nested deeper than json parses
            continue
        if isinstance(doc, dict) and all(key in doc for key in _REQUIRED) and _names_ok(doc):
            docs.append(doc)
    return docs


def _newest(docs: list[dict[str, Any]], folder: str) -> SnapshotMeta:
    """The newest of an app's sidecars, as `_metas(...)[-1]` (by created_at, then tag; the last in name
    order among equals), with one `SnapshotMeta` built, not one per sidecar."""
    best, best_key = docs[0], (str(docs[0]["created_at"]), str(docs[0]["tag"]))
    for doc in docs[1:]:
        key = (str(doc["created_at"]), str(doc["tag"]))
        if key >= best_key:
            best, best_key = doc, key
    return SnapshotMeta.from_dict(best, folder)


def _file_id(path: Path) -> tuple[int, int, int] | None:
    """Inode, size and mtime: atomic_write replaces a file with a new inode, so any rewrite shows."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class SnapshotStore:
    def __init__(self, root: Path | str, *, clock: Callable[[], _dt.datetime] = utcnow) -> None:
        self.root = Path(root)
        self.clock = clock
        self._manifest_seen: tuple[int, int, int] | None = None  # the manifest file last checked
        self._folders: list[str] | None = None  # the app folders' names during a `batch`, sorted
        self._folders_lock = threading.Lock()

    @contextlib.contextmanager
    def batch(self) -> Iterator[SnapshotStore]:
        """Many saves in one run (`snapshot create --all`): the store folder is listed once, and the
        folders this store creates are added to that list, instead of one listing per save (O(apps)
        each: 0.28 ms of CPU per save at 200 apps, O(apps^2) for the run). A folder another process
        creates meanwhile is seen after the batch; a save then writes to the folder its app's name
        gives, as a store that had no folder for the app does."""
        self._folders = self._list_folders()
        try:
            yield self
        finally:
            self._folders = None

    def _list_folders(self) -> list[str]:
        try:  # scandir: no stat per folder (d_type), no Path sorting
            with os.scandir(self.root) as it:
                # a symbolic link is never an app folder: it could lead a save or a prune outside
                return sorted(e.name for e in it if not e.name.startswith(".") and not e.is_symlink())
        except OSError:
            return []

    def _added_folder(self, name: str) -> None:
        with self._folders_lock:  # save threads run side by side: a new list, never one changed in place
            if self._folders is not None and name not in self._folders:
                self._folders = sorted([*self._folders, name])

    # ----------------------------------------------------------------------------------- manifest
    def _ensure_manifest(self) -> None:
        """Checked once per save, but read only when the file changed since (one stat, not a mkdir, a
        read and a parse per save: snapshot --all saves hundreds)."""
        path = self.root / MANIFEST
        if self._manifest_seen is not None and _file_id(path) == self._manifest_seen:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        applied: list[str] = []
        if path.exists():
            try:
                manifest = json.loads(path.read_text("utf-8"))
                applied = list(manifest.get("migrations") or [])
                version = int(manifest.get("store_version", 0))
            except (ValueError, OSError, AttributeError, RecursionError) as exc:
                raise UsageError(f"{path}: unreadable store manifest ({exc})") from None
            if version > STORE_VERSION:
                raise UsageError(
                    f"{self.root} was written by a newer difyctl (store version {version})",
                    hint="upgrade difyctl-ops",
                )
        pending = [name for name in MIGRATIONS if name not in applied]
        if pending or not path.exists():
            for name in pending:
                MIGRATIONS[name](self.root)
                applied.append(name)
            body = {"store_version": STORE_VERSION, "migrations": applied}
            atomic_write(path, (json.dumps(body, indent=2) + "\n").encode())
        self._manifest_seen = _file_id(path)

    # -------------------------------------------------------------------------------------- reads
    def app_dirs(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(
            p for p in self.root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
        )

    def _metas(self, folder: Path) -> list[SnapshotMeta]:
        """The snapshots of an app folder, oldest first (unreadable sidecars are verify()'s to report)."""
        metas = (SnapshotMeta.from_dict(doc, folder.name) for doc in _sidecar_docs(folder))
        return sorted(metas, key=lambda m: (m.created_at, m.tag))

    def find_app_dir(self, app_ref: str) -> Path | None:
        """An app folder from an app id, a folder name or an app name (exact; the newest snapshot's name)."""
        dirs = self.app_dirs()
        for d in dirs:
            if d.name == app_ref:
                return d
        suffix = id_suffix(app_ref)
        for d in dirs:
            if d.name.endswith("-" + suffix) and any(m.app_id == app_ref for m in self._metas(d)):
                return d
        named = [d for d in dirs if (ms := self._metas(d)) and ms[-1].app_name == app_ref]
        if len(named) > 1:
            raise UsageError(f"several apps in {self.root} are named {app_ref!r}", hint="use the app id")
        return named[0] if named else None

    def _app_dir(self, app_ref: str) -> Path:
        found = self.find_app_dir(app_ref)
        if found is None:
            raise UsageError(f"no snapshots of {app_ref!r} in {self.root}", hint=self._links_hint())
        return found

    def _links(self) -> builtins.list[Path]:
        """Symbolic links where app folders belong: never read nor written through."""
        return sorted(p for p in self.root.iterdir() if p.is_symlink() and not p.name.startswith("."))

    def _links_hint(self) -> str | None:
        """Why an app folder may not be found: a symbolic link in the store is never read through."""
        try:
            links = self._links()
        except OSError:
            return None
        if not links:
            return None
        return (
            f"{links[0]} is a symbolic link: snapshots are read only from real folders inside the store "
            "(move the folder back in place of the link)"
        )

    def list(self, app: str | None = None) -> list[SnapshotMeta]:
        folders = [self._app_dir(app)] if app else self.app_dirs()
        return [m for f in folders for m in self._metas(f)]

    def _dir_for_id(self, app_id: str) -> tuple[Path | None, SnapshotMeta | None]:
        """The folder of an app id and its newest snapshot, its sidecars read once (every save reads
        them all: at 100 snapshots of history an unchanged save took 7.0 ms of CPU, reading them twice
        and building a SnapshotMeta each). No name fallback: that reads every sidecar of the store,
        which made `save` O(apps^2) for `snapshot create --all`."""
        suffix = "-" + id_suffix(app_id)
        folders = self._folders if self._folders is not None else self._list_folders()
        for name in (n for n in folders if n.endswith(suffix)):
            # its own snapshots only: two apps may share a folder (same slug and id prefix)
            docs = [doc for doc in _sidecar_docs(self.root / name) if str(doc["app_id"]) == app_id]
            if docs:
                return self.root / name, _newest(docs, name)
        return None, None

    def latest(self, app_id: str) -> SnapshotMeta | None:
        return self._dir_for_id(app_id)[1]

    def get(self, app_ref: str, tag: str) -> SnapshotMeta:
        folder = self._app_dir(app_ref)
        validate_tag(tag)
        for meta in self._metas(folder):
            if meta.tag == tag:
                return meta
        raise UsageError(
            f"no snapshot {tag!r} of {app_ref!r}",
            hint=f"list them with `difyctl snapshot list {folder.name}`",
        )

    def path_of(self, meta: SnapshotMeta) -> Path:
        return self.root / meta.folder / f"{meta.stored_as}.yml"

    def load_verified(self, app_ref: str, tag: str, *, force: bool = False) -> LoadedSnapshot:
        """Read a snapshot, refusing one whose bytes do not match its sha256 (unless `force`)."""
        meta = self.get(app_ref, tag)
        path = self.path_of(meta)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        ok = sha256_hex(raw) == meta.sha256
        if not ok and not force:
            raise ChecksumError(
                f"{path} does not match its recorded sha256 (edited by hand or corrupt)",
                hint="pass --force to use it anyway",
            )
        return LoadedSnapshot(meta, path, raw, parse_dsl(raw, str(path)), verified=ok)

    def verify(self) -> builtins.list[Problem]:
        """Re-hash every snapshot file: missing files, sha mismatches, unreadable sidecars, orphans.
        An alias is checked against the file it names. A store that does not exist is a UsageError."""
        if not self.root.is_dir():
            raise UsageError(f"no snapshot store at {self.root}", hint="check --dir or DIFYCTL_SNAPSHOT_DIR")
        problems: builtins.list[Problem] = [
            Problem(
                "symlinked-folder", link, "a symbolic link where an app folder belongs: never read or written"
            )
            for link in self._links()
        ]
        for folder in self.app_dirs():
            sidecar_tags = set()
            for side in _files(folder, ".json"):
                try:
                    meta = _read_sidecar(side, folder.name)
                except (ValueError, KeyError, OSError, TypeError, RecursionError) as exc:
                    problems.append(Problem("unreadable-sidecar", side, str(exc)))
                    continue
                sidecar_tags.add(meta.stored_as)
                path = self.path_of(meta)
                try:
                    digest = sha256_hex(path.read_bytes())
                except OSError:
                    what = f"alias {meta.tag} -> {meta.alias_of}" if meta.alias_of else f"snapshot {meta.tag}"
                    problems.append(Problem("missing", path, f"the DSL file of {what} is missing"))
                    continue
                if digest != meta.sha256:
                    problems.append(
                        Problem("sha-mismatch", path, f"sha256 {digest[:12]}… != {meta.sha256[:12]}…")
                    )
            for yml in _files(folder, ".yml"):
                if yml.stem not in sidecar_tags and not (folder / f"{yml.stem}.json").exists():
                    problems.append(Problem("orphan", yml, "a DSL file without its sidecar"))
        return problems

    # ------------------------------------------------------------------------------------- writes
    def save(
        self,
        content: str | bytes,
        *,
        app_id: str,
        app_name: str,
        app_mode: str,
        tag: str | None = None,
        message: str = "",
        base_url: str | None = None,
        server_version: str | None = None,
        workflow_id: str | None = None,
        draft: bool = False,
        include_secret: bool = False,
        dedupe: bool = True,
        tag_prefix: str = "",
        now: _dt.datetime | None = None,
    ) -> SaveResult:
        """Store one export. Same content hash as the newest snapshot of the app -> `unchanged`, no file."""
        raw = content.encode("utf-8") if isinstance(content, str) else content
        digest = sha256_hex(raw)
        when = (now or self.clock()).astimezone(_dt.timezone.utc)
        if tag is not None:
            check_user_tag(tag)
        found, latest = self._dir_for_id(app_id)  # no listing of the store in a `batch`
        same_kind = latest is not None and (latest.draft, latest.include_secret) == (draft, include_secret)
        if dedupe and latest and same_kind and latest.sha256 == digest and self._intact(latest):
            # the very bytes stored last time (the usual nightly run): same content hash, no parse
            return self._unchanged(latest, tag, message, when)
        chash, version = export_facts(raw, f"export of {app_name or app_id}")
        if (
            dedupe
            and latest
            and same_kind
            and latest.content_hash == chash
            and self._intact(latest)  # a file deleted or edited by hand is stored again, not named
        ):
            return self._unchanged(latest, tag, message, when)
        try:
            self._ensure_manifest()
            folder = found or self.root / app_folder_name(app_name, app_id)
            if folder.is_symlink():  # committed to git, say: it could point anywhere on the machine
                raise UsageError(
                    f"{folder} is a symbolic link: snapshots are written only inside the store",
                    hint="replace the link with a real folder (or move the store with --dir)",
                )
            new_folder = not folder.exists()
            folder.mkdir(parents=True, exist_ok=True)
            self._added_folder(folder.name)
        except OSError as exc:
            raise file_error(exc, self.root) from None
        tag = self._free_tag(folder, tag, validate_tag(tag_prefix + default_tag(when)))
        meta = SnapshotMeta(
            tag=tag,
            created_at=when.isoformat(timespec="seconds").replace("+00:00", "Z"),
            app_id=app_id,
            app_name=app_name,
            app_mode=app_mode,
            sha256=digest,
            content_hash=chash,
            message=message,
            base_url=base_url,
            server_version=server_version,
            dsl_version=version,
            workflow_id=workflow_id,
            draft=draft,
            include_secret=include_secret,
            folder=folder.name,
        )
        path = folder / f"{tag}.yml"
        sidecar = json.dumps(meta.to_dict(), indent=2, ensure_ascii=False) + "\n"
        mode = 0o600 if include_secret else 0o644
        try:
            atomic_write(path, raw, mode=mode)
            atomic_write(folder / f"{tag}.json", sidecar.encode("utf-8"), mode=mode)
        except OSError as exc:  # full disk, permission: no half snapshot, no empty folder left behind
            for leftover in (path, folder / f"{tag}.json"):
                with contextlib.suppress(OSError):
                    leftover.unlink(missing_ok=True)
            if new_folder:
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise file_error(exc, path) from None
        return SaveResult("created", meta, path)

    def prepare(self) -> None:
        """Create the store folder and its manifest now: an unusable --dir (read-only, a dangling
        symlink, a file) is one clear error before anything is exported."""
        try:
            self._ensure_manifest()
        except OSError as exc:
            raise file_error(exc, self.root) from None

    def _unchanged(
        self, latest: SnapshotMeta, tag: str | None, message: str, when: _dt.datetime
    ) -> SaveResult:
        """The newest snapshot has this content: nothing stored, or the new tag recorded as an alias."""
        if tag is None:
            return SaveResult("unchanged", latest, self.path_of(latest))
        return self._alias(latest, tag, message, when)

    def _intact(self, meta: SnapshotMeta) -> bool:
        try:
            return sha256_hex(self.path_of(meta).read_bytes()) == meta.sha256
        except OSError:
            return False

    def _alias(self, of: SnapshotMeta, tag: str, message: str, when: _dt.datetime) -> SaveResult:
        """Record `tag` (and its message) for content already stored: a sidecar, no second DSL file."""
        folder = self.root / of.folder
        self._free_tag(folder, tag, tag)
        meta = dataclasses.replace(
            of,
            tag=tag,
            created_at=when.isoformat(timespec="seconds").replace("+00:00", "Z"),
            message=message,
            alias_of=of.stored_as,
        )
        sidecar = json.dumps(meta.to_dict(), indent=2, ensure_ascii=False) + "\n"
        try:
            atomic_write(
                folder / f"{tag}.json", sidecar.encode("utf-8"), mode=0o600 if of.include_secret else 0o644
            )
        except OSError as exc:
            raise file_error(exc, folder / f"{tag}.json") from None
        return SaveResult("tagged", meta, self.path_of(meta))

    @staticmethod
    def _free_tag(folder: Path, tag: str | None, default: str) -> str:
        if tag is not None:
            if (folder / f"{tag}.json").exists() or (folder / f"{tag}.yml").exists():
                raise UsageError(f"snapshot {tag!r} already exists in {folder}", hint="choose another --tag")
            return tag
        candidate, n = default, 1
        while (folder / f"{candidate}.json").exists() or (folder / f"{candidate}.yml").exists():
            n += 1
            candidate = f"{default}-{n}"
        return candidate

    def prune(
        self, app_ref: str, keep: int, *, force: bool = False, now: _dt.datetime | None = None
    ) -> PruneResult:
        """Keep the newest `keep`; never remove a safety snapshot younger than a week unless `force`.
        Tags are pruned, content is not while another tag (an alias, or the tag an alias names) is
        left pointing at it."""
        if keep < 0:
            raise UsageError("--keep must be 0 or more")
        metas = self.list(app_ref)
        when = now or self.clock()
        cut = len(metas) - keep if keep else len(metas)
        old, kept = metas[: max(cut, 0)], metas[max(cut, 0) :]
        removed, protected = [], []
        for meta in old:
            if not force and is_safety(meta.tag) and when - meta.created < PROTECT_PRE_ROLLBACK:
                protected.append(meta)
                continue
            removed.append(meta)
        still_used = {m.stored_as for m in (*kept, *protected)}
        for meta in removed:
            (self.root / meta.folder / f"{meta.tag}.json").unlink(missing_ok=True)
            if meta.stored_as not in still_used:
                self.path_of(meta).unlink(missing_ok=True)
        return PruneResult(tuple(removed), tuple(kept), tuple(protected))
