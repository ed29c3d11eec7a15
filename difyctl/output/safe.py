"""Terminal safety for server data: names, answers and messages never reach the terminal raw.

An app named `\\x1b[31mRED\\x1b[0m` would colour (or, with other sequences, retitle, clear or hide) the
operator's terminal; `nul\\0byte` truncates a line in some terminals; a newline in a name forges a table
row. Every renderer goes through the `Output` sink, and the sink runs every table cell through `cell`
and every text line and message through `text`. Both are pure and cheap (one `str.translate` when
something needs escaping, a regex scan otherwise).

- `cell(s)`: every control character escaped, newline and tab included (a cell is one line);
- `text(s)`: the same, but newline and tab kept (answers span lines).

Escapes are the ones Python and JSON readers know: `\\n`, `\\t`, `\\r`, `\\0`, `\\x1b`, `\\u202e`.
"""

from __future__ import annotations

import re

__all__ = ["cell", "text"]

# C0 controls, DEL, C1 controls, and the Unicode format characters that reorder or hide text (bidi
# overrides and isolates: "Trojan Source"), line/paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {0: "\\0", 9: "\\t", 10: "\\n", 13: "\\r"}


def _escape(code: int) -> str:
    if code in _NAMED:
        return _NAMED[code]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_CELL = {c: _escape(c) for c in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]}
_CELL.update({c: _escape(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]})
_TEXT = {c: v for c, v in _CELL.items() if c not in (9, 10)}
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def cell(value: str) -> str:
    """One line, every control character visible (table cells, progress labels)."""
    return value.translate(_CELL) if _UNSAFE.search(value) else value


def text(value: str) -> str:
    """Newlines and tabs kept, every other control character visible (text lines, answers, messages)."""
    return value.translate(_TEXT) if _UNSAFE_TEXT.search(value) else value
