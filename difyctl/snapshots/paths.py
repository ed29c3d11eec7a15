"""Names that become paths: app folder slugs and snapshot tags. Nothing a user types reaches the file
system raw: no separators, no `..`, no leading dot, bounded length."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from difyctl.errors import UsageError
from difyctl.fsutil import TEMP_PREFIX, atomic_write

SLUG_MAX = 60
TAG_MAX = 100
_SLUG_BAD = re.compile(r"[^a-z0-9._-]+")
_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
PRE_ROLLBACK_PREFIX = "pre-rollback-"
# Safety snapshots, named after the command that took them before changing the app (issue 12).
SAFETY_PREFIXES = (PRE_ROLLBACK_PREFIX, "pre-apply-", "pre-promote-")
RESERVED_TAGS = frozenset({"live", "draft"})  # `snapshot diff` keywords


def slugify(name: str, *, max_len: int = SLUG_MAX) -> str:
    """Lowercase ASCII `[a-z0-9._-]`, no leading dots or dashes, no `..`, at most `max_len`; never empty."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    slug = _SLUG_BAD.sub("-", ascii_name)
    slug = re.sub(r"\.{2,}", ".", slug)
    slug = re.sub(r"-{2,}", "-", slug)
    slug = slug[:max_len].strip(".-_")
    return slug or "app"


def id_suffix(app_id: str) -> str:
    """The first 8 safe characters of an app id (its folder suffix)."""
    return slugify(app_id, max_len=64).replace(".", "")[:8] or "noid"


def app_folder_name(app_name: str, app_id: str) -> str:
    return f"{slugify(app_name)}-{id_suffix(app_id)}"


def is_tag(tag: object) -> bool:
    """A file name stem: letters, digits, `._+-`, starting with a letter or digit, no `..`."""
    return isinstance(tag, str) and len(tag) <= TAG_MAX and bool(_TAG_RE.match(tag)) and ".." not in tag


def validate_tag(tag: str) -> str:
    """A tag is a file name stem: letters, digits, `._+-`, starting with a letter or digit, no `..`."""
    if not is_tag(tag):
        raise UsageError(
            f"invalid snapshot tag {tag!r}",
            hint=f"use letters, digits and . _ + - (at most {TAG_MAX}, starting with a letter or digit)",
        )
    return tag


def is_temp_file(path: Path) -> bool:
    """A write in progress, or left behind by a kill -9 between mkstemp and os.replace: never a snapshot."""
    return path.name.startswith(TEMP_PREFIX)


def is_safety(tag: str) -> bool:
    """A safety snapshot (taken automatically before a rollback / apply / promote)."""
    return tag.startswith(SAFETY_PREFIXES)


def check_user_tag(tag: str) -> str:
    """A tag a user chose: valid, and neither a `snapshot diff` keyword nor a safety snapshot's name."""
    validate_tag(tag)
    if tag in RESERVED_TAGS or is_safety(tag):
        raise UsageError(
            f"the tag {tag!r} is reserved",
            hint="`live` and `draft` name the server's state in `snapshot diff`; "
            f"{', '.join(p + '*' for p in SAFETY_PREFIXES)} name automatic safety snapshots",
        )
    return tag


def flat_filename(app_name: str, app_id: str, taken: set[str]) -> str:
    """`<slug>.yml` for a flat folder of one file per app (for `apply -f DIR`); the id breaks ties."""
    name = f"{slugify(app_name)}.yml"
    if name in taken:
        name = f"{app_folder_name(app_name, app_id)}.yml"
    taken.add(name)
    return name


def write_flat(folder: Path, app_name: str, app_id: str, content: str | bytes, taken: set[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / flat_filename(app_name, app_id, taken)
    atomic_write(path, content.encode("utf-8") if isinstance(content, str) else content)
    return path
