"""docs/help.md must match the commands (regenerate: python -m difyctl.cli.helpdoc > docs/help.md)."""

from __future__ import annotations

from pathlib import Path

from difyctl.cli.helpdoc import render
from difyctl.cli.lazy import _short

DOC = Path(__file__).resolve().parents[1] / "docs" / "help.md"


def test_help_reference_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "run: python -m difyctl.cli.helpdoc > docs/help.md"


def test_short_help_ends_at_a_sentence_not_at_an_abbreviation() -> None:
    assert _short("Copy it (e.g. staging -> prod). More here.", 80) == "Copy it (e.g. staging -> prod)."
    assert _short("A local server (Dify 1.13.2 wire format) with demo apps.", 80).endswith("demo apps.")
    assert _short("word " * 40, 20).endswith("...") and len(_short("word " * 40, 20)) <= 20
