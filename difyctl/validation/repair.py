"""The parse -> repair ladder: from an LLM answer to JSON values, recording every repair made.

Rungs, cheapest first (each later one runs only when the earlier ones found no strict JSON):

1. strict parse of the whole text (``json.loads``; NaN/Infinity rejected: they are not JSON, RFC 8259);
2. our own deterministic peeling: a ``<think>`` block (or Dify's ``<details>`` "Thinking..." panel),
   a Markdown code fence, then text around complete JSON values (found with ``raw_decode`` from each
   ``{``/``[``). Several values may be found (an answer that echoes the schema first): each is a
   candidate and the engine keeps the first one that passes the schema;
3. json-repair for what is broken *inside* the JSON: trailing commas, single/smart quotes, unquoted
   keys, comments, Python literals, missing closers of a truncated answer.

Why json-repair (evaluated against 0.64): it is the maintained, widely used library for exactly
LLM output (a hand-written parser that already knows quotes, comments, truncation and literals), it is
deterministic and needs no network. But it is built to always return *something*: prose becomes ``""``,
``{`` becomes ``{}``, a truncated ``"b":`` becomes ``"b": ""``, ``"a" "b"`` silently loses ``"b"``,
several values become a list, and its repair log misses most fixes (trailing commas, quotes, NaN).
So it never sees prose (only a span that starts at a bracket), and we audit its answer against a
token scan of that span: the result must have the opening bracket's type and some content, every
value must come from the source (no invented ``""``, numbers or literals), every source string must
survive, and NaN/Infinity are refused. The same scan names the repairs (its log is kept as notes).
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_REPAIR_CHARS = (
    8_000_000  # larger broken documents are reported, not repaired (json-repair is O(n) but slow)
)
MAX_STARTS = 64  # bracket positions tried by raw_decode in one document
MAX_CANDIDATES = 8

_NON_FINITE = "NaN/Infinity are not valid JSON (RFC 8259)"


class NonFiniteError(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise NonFiniteError(f"{name}: {_NON_FINITE}")


def _finite_float(text: str) -> float:
    """A JSON number as a double; one beyond a double's range (1e400) is refused rather than read as
    inf, which would go out as Infinity (not JSON). Called by the C scanner for fractions/exponents only."""
    value = float(text)
    if value - value != 0.0:  # inf (nan cannot come from a JSON number)
        raise NonFiniteError(f"{text[:40]} is beyond a double's range, read as Infinity: {_NON_FINITE}")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


# ``json.loads`` that refuses NaN/Infinity. Raises ValueError (or RecursionError for deep nesting).
# The bound method itself: it runs twice per line of a batch.
parse_strict = _DECODER.decode


@dataclass(frozen=True)
class Candidate:
    """A JSON value found in the text, with the repairs that produced it (empty = parsed as is)."""

    value: Any
    repairs: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class Ladder:
    """Iterate over the candidate values of one text; if none is found, `failure` says why."""

    text: str
    repair: bool = True
    failure: tuple[str, str] | None = None  # (keyword, message)

    def __iter__(self) -> Iterator[Candidate]:
        try:
            yield from self._candidates()
        except RecursionError:
            self.failure = ("depth", "JSON nested too deeply (recursion limit reached)")

    def _fail(self, message: str, keyword: str = "json") -> None:
        if self.failure is None:
            self.failure = (keyword, message)

    def _candidates(self) -> Iterator[Candidate]:
        body = self.text.lstrip("\ufeff").strip()
        if not body:
            self._fail("empty document")
            return
        try:
            yield Candidate(parse_strict(body))
            return
        except NonFiniteError:
            self._fail(_NON_FINITE)
        except ValueError as exc:
            self._fail(f"not JSON: {exc}")
        if not self.repair:
            return
        if len(body) > MAX_REPAIR_CHARS:
            self.failure = (
                "size",
                f"not JSON and too large to repair ({len(body)} > {MAX_REPAIR_CHARS} chars)",
            )
            return
        repairs: list[str] = []
        for step, name in ((strip_think, "think_block"), (unfence, "code_fence")):
            peeled, around = step(body)
            if peeled is None:
                continue
            if not peeled:
                self.failure = ("json", f"no answer left once the {name.replace('_', ' ')} is removed")
                return
            repairs.append(name)
            if around:
                repairs.append("surrounding_text")
            body = peeled
            try:
                yield Candidate(parse_strict(body), _unique(repairs))
                return
            except ValueError:
                pass
        yield from self._containers(body, repairs)

    def _containers(self, body: str, repairs: list[str]) -> Iterator[Candidate]:
        """The JSON containers in the text, in order: complete ones as they are, the first broken one
        repaired. A broken container is skipped as a whole (to its matching closer, or the end when it
        is truncated): a complete value nested inside it is a fragment, never a candidate of its own."""
        pos, tries, found, failure = 0, 0, 0, None
        repaired = False
        while tries < MAX_STARTS and found < MAX_CANDIDATES:
            m = _BRACKET.search(body, pos)
            if m is None:
                break
            start, tries = m.start(), tries + 1
            try:
                value, end = _DECODER.raw_decode(body, start)
                cand = Candidate(value)
            except ValueError:
                if repaired:
                    pos = max(scan(body, start, audit=False).end, start + 1)
                    continue
                repaired = True
                result = _repair_span(body, start)
                if isinstance(result, str):
                    failure = failure or result
                    pos = max(scan(body, start, audit=False).end, start + 1)
                    continue
                cand, end = result
            found += 1
            around = bool(body[:start].strip() or body[end:].strip())
            named = repairs + (["surrounding_text"] if around else []) + list(cand.repairs)
            yield Candidate(cand.value, _unique(named), cand.notes)
            pos = end
        if not found:
            self.failure = ("json", failure or "no JSON object or array found")


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# -- peeling ------------------------------------------------------------------------------------------
_THINK_OPEN = re.compile(r"<(think|thinking|reasoning)>", re.I)
_THINK_CLOSE = re.compile(r"</(think|thinking|reasoning)>", re.I)
_DETAILS_CLOSE = re.compile(r"</details>", re.I)


def strip_think(text: str) -> tuple[str | None, bool]:
    """Drop a leading reasoning block: <think>...</think>, a bare ...</think>, or Dify's <details> panel.

    Returns (rest, False), or (None, False) when there is none. The block must come first: a `</think>`
    inside a JSON string later on is left alone. An unclosed <think> leaves nothing.
    """
    if text[:8].lower().startswith("<details"):
        end = _DETAILS_CLOSE.search(text)
        return (text[end.end() :].strip(), False) if end else (None, False)
    opened = _THINK_OPEN.match(text)
    if opened:
        close = re.compile(f"</{opened.group(1)}>", re.I).search(text, opened.end())
        return (text[close.end() :].strip(), False) if close else ("", False)
    close = _THINK_CLOSE.search(text)  # DeepSeek-R1 style: reasoning, then only the closing tag
    if close and not _BRACKET.search(text, 0, close.start()):
        return text[close.end() :].strip(), False
    return None, False


_FENCE_OPEN = re.compile(r"```[ \t]*[\w+-]*[ \t]*\n")
_BRACKET = re.compile(r"[{\[]")


def unfence(text: str) -> tuple[str | None, bool]:
    """Content of the first Markdown code fence (``` or ```json), and whether text lies outside it.

    The closing fence is a ``` at the start of a line; a fence left open (truncated answer) runs to the end.
    """
    m = _FENCE_OPEN.search(text)
    if m is None:
        return None, False
    close = text.find("\n```", m.end() - 1)
    inner = text[m.end() : close] if close >= 0 else text[m.end() :]
    after = text[close + 4 :].strip() if close >= 0 else ""
    return inner.strip(), bool(text[: m.start()].strip() or after)


# -- auditing json-repair -----------------------------------------------------------------------------
_TOKEN = re.compile(  # white space before a token is part of its match (no token of its own)
    r"""\s*(?:(?P<dq>"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z))
    |(?P<sep>[:,])
    |(?P<num>[-+]?\.?\d(?:[eE][-+]|[\w.])*)  # greedy: 1_000, 0x10, 1e, .5, +1 are one token
    |(?P<open>[{\[])
    |(?P<close>[}\]])
    |(?P<word>[A-Za-z_$][\w$]*)
    |(?P<sq>'[^'\\]*(?:\\.[^'\\]*)*(?:'|\Z))
    |(?P<smart>[“”„‘’][^“”„‘’]*[“”‘’]?)
    |(?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z)|\#[^\n]*)
    |(?P<other>.))""",
    re.S | re.X,
)
_LITERALS: dict[str, Any] = {
    "true": True,
    "True": True,
    "false": False,
    "False": False,
    "null": None,
    "None": None,
}
_VALUE_END = frozenset({"dq", "sq", "smart", "num", "word", "close"})
_VALUE_START = frozenset({"dq", "sq", "smart", "num", "word", "open"})


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_JSON_LITERAL = {"True": "true", "False": "false", "None": "null"} | {w: w for w in ("true", "false", "null")}


@dataclass
class _Scan:
    end: int = 0
    kinds: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)  # decoded quoted strings of the source
    numbers: set[float] = field(default_factory=set)
    literals: set[Any] = field(default_factory=set)
    non_finite: bool = False
    bad_number: str | None = None  # a number JSON does not allow (1_000, 0x10, 1e, .5, +1, 01)
    dangling: bool = False  # cut off after (or inside) a key, before its value
    # the span rewritten as strict JSON by the cheap targeted repairs, or None when they do not suffice
    pieces: list[str] | None = field(default_factory=list)


def _closed(tok: str) -> bool:
    """Whether a quoted-string token ends with its closing quote (not an escaped one: truncated)."""
    if len(tok) < 2 or tok[-1] not in ('"' if tok[0] == '"' else "'" if tok[0] == "'" else "“”‘’"):
        return False
    inner = tok[1:-1]
    return (len(inner) - len(inner.rstrip("\\"))) % 2 == 0


def _decode_quoted(tok: str, kind: str) -> str:
    if kind == "dq":
        closed = _closed(tok)
        try:
            return str(json.loads(tok if closed else tok + '"'))
        except ValueError:
            return tok[1:-1] if closed else tok[1:]
    inner = tok[1:]
    if inner and inner[-1] in "'”’“":
        inner = inner[:-1]
    return inner.replace("\\'", "'")


def scan(body: str, start: int, *, audit: bool = True) -> _Scan:
    """Tokenise the JSON-ish value starting at `start` (to its matching closer, or the end: truncated).

    On the way it rewrites the span as strict JSON where only targeted repairs are needed (trailing
    commas, comments, single quotes, Python literals, unquoted keys, a truncated end closed where a
    value is complete): `pieces`, None when anything else is wrong (then json-repair gets the span).
    `audit`: also collect the strings, numbers and literals of the source (to audit json-repair)."""
    out = _Scan()
    pieces = out.pieces
    stack: list[str] = []  # the closers owed
    expect = ""  # in the innermost container: "key", "colon", "value" or "comma"
    prev = ""
    comma = -1  # index in pieces of a comma that a closer may turn out to be trailing
    kinds = out.kinds
    m = None
    scalars = False  # any string, number or literal (with audit off, nothing else counts them)
    for m in _TOKEN.finditer(body, start):
        kind = m.lastgroup or "other"
        tok = m.group(kind)
        if tok == '"' and expect == "key":
            break  # a bare opening quote (so the very end) where a key would start: it ends before it
        if comma >= 0 and kind == "close":
            kinds.append("trailing_comma")
            if pieces is not None:
                del pieces[comma]
        comma = -1
        if prev in _VALUE_END and kind in _VALUE_START:
            kinds.append("missing_separator")
            pieces = None
        piece = tok
        if kind == "dq" and tok[-1] == '"' and len(tok) > 1 and "\\" not in tok:  # most tokens
            if audit:
                out.strings.append(tok[1:-1])
            expect = "colon" if expect == "key" else "comma"
        elif kind == "sep":
            if tok == ":":
                expect = "value"
            else:
                expect = "key" if stack and stack[-1] == "}" else "value"
                if pieces is not None:
                    if prev in ("sep", "open"):
                        pieces = None  # a doubled or leading comma: json-repair decides
                    else:
                        comma = len(pieces)
        elif kind == "num":
            if _JSON_NUMBER.fullmatch(tok) is None:
                out.bad_number = out.bad_number or tok
            elif audit:
                out.numbers.add(float(tok))
            expect = "comma"
        elif kind == "open":
            stack.append("}" if tok == "{" else "]")
            expect = "key" if tok == "{" else "value"
        elif kind == "close":
            if stack:
                stack.pop()
            expect = "comma"
        elif kind in ("dq", "sq", "smart"):
            closed = _closed(tok)
            if audit:
                text = _decode_quoted(tok, kind)
                if closed or text:  # a bare opening quote at the very end is no empty string
                    out.strings.append(text)
            if kind != "dq":
                kinds.append("quotes")
            if not closed:
                kinds.append("truncation")
                piece = _close_string(tok, kind) if expect == "value" else ""
                out.dangling = expect == "key"
            else:
                piece = _string_to_json(tok, kind) if kind != "smart" else ""
            if not piece:
                pieces = None
            expect = "colon" if expect == "key" else "comma"
        elif kind == "word":
            if tok in ("NaN", "Infinity"):
                out.non_finite = True
            elif tok in _LITERALS:
                if audit:
                    out.literals.add(_LITERALS[tok])
                piece = _JSON_LITERAL[tok]
                if tok not in ("true", "false", "null"):
                    kinds.append("python_literals")
            elif body[m.end() : m.end() + 64].lstrip().startswith(":"):
                kinds.append("quotes")  # unquoted key
                piece = f'"{tok}"'
            else:
                kinds.append("bare_words")
                pieces = None
            expect = "colon" if expect == "key" else "comma"
        elif kind == "comment":
            kinds.append("comments")
            continue
        else:
            kinds.append("stray_characters")
            pieces = None
        if pieces is not None:
            pieces.append(piece)
        prev = kind
        scalars = scalars or kind not in ("open", "close", "sep")
        if not stack:
            out.end = m.end()
            out.pieces = pieces
            return out
    out.end = m.end() if m is not None else start
    kinds.append("truncation")
    if expect == "colon" or (expect == "value" and prev == "sep" and comma < 0):
        out.dangling = True  # `"key"` or `"key":` and nothing after: there is no value to keep
    closable = expect == "comma" or comma >= 0 or (prev == "open" and len(stack) > 1)
    if pieces is not None and closable and (out.strings or out.numbers or out.literals or scalars):
        if comma >= 0:
            del pieces[comma]  # `[1, 2,`: the comma was the last thing written
        pieces.extend(reversed(stack))  # close what was opened (`"tags": [` too): nothing else is added
    else:
        pieces = None  # nothing inside yet, or a word cut short: json-repair decides
    out.pieces = pieces
    return out


def _close_string(tok: str, kind: str) -> str:
    """A string cut off by the end of the answer, closed (as JSON) where it stopped."""
    if kind == "smart":
        return ""
    inner = tok[1:]
    if (len(inner) - len(inner.rstrip("\\"))) % 2:
        inner = inner[:-1]  # an escape cut in half
    if not inner:
        return ""  # a bare opening quote is no empty string
    return _string_to_json(tok[0] + inner + tok[0], kind)


_NON_JSON_ESCAPE = re.compile(r'\\[^"\\/bfnrtu]')


def _string_to_json(tok: str, kind: str) -> str:
    """A closed quoted string as a JSON string: "" when it cannot be read exactly (json-repair decides).

    JSON strings stay as written; single-quoted ones, and double-quoted ones with escapes JSON lacks
    (``\\x41``, ``\\U0001f600``, ``\\'``: Python's repr), are read as the Python literal they are."""
    if "\\" not in tok:
        return tok if kind == "dq" else json.dumps(tok[1:-1], ensure_ascii=False)
    if kind == "dq" and _NON_JSON_ESCAPE.search(tok) is None:
        return tok
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an invalid escape (\\q) is no Python literal either
        try:
            value = ast.literal_eval(tok)  # one str literal: escapes read exactly as Python would
        except (ValueError, SyntaxError, Warning):
            return ""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else ""


# The quickest targeted repairs, in one C-level pass: strings are matched whole (so nothing inside a
# string is touched), single-quoted ones become JSON strings, Python literals JSON ones, and commas
# before a closer go. The result counts only if it then parses strictly (a number JSON does not allow,
# NaN, a comment or a truncated end all make it fail: `scan` takes those).
_QUICK = re.compile(
    r"""(?P<dq>"[^"\\]*(?:\\.[^"\\]*)*")
    |(?P<sq>'[^'\\]*(?:\\.[^'\\]*)*')
    |(?P<lit>(?<![\w$])(?:True|False|None)(?![\w$]))
    |(?P<comma>,(?=\s*[}\]]))""",
    re.X,
)
_QUICK_KIND = {"sq": "quotes", "lit": "python_literals", "comma": "trailing_comma"}


def _quick_repair(body: str, start: int) -> tuple[Candidate, int] | None:
    kinds: list[str] = []
    shifts: list[tuple[int, int]] = []  # (where in the original a replacement ended, length change)

    def fix(m: re.Match[str]) -> str:
        kind = m.lastgroup or "dq"
        tok = m.group()
        if kind == "dq":
            return tok
        new = "" if kind == "comma" else _JSON_LITERAL[tok] if kind == "lit" else _string_to_json(tok, "sq")
        if kind == "sq" and not new:
            raise ValueError("not a plain Python string")
        kinds.append(_QUICK_KIND[kind])
        if len(new) != len(tok):
            shifts.append((m.end(), len(new) - len(tok)))
        return new

    try:
        text = _QUICK.sub(fix, body[start:])
        if not kinds:
            return None
        value, end = _DECODER.raw_decode(text)
    except (ValueError, RecursionError):
        return None
    moved = total = 0
    for where, change in shifts:  # `end` back in the original's coordinates
        total += change
        if where + total <= end:
            moved = total
    return Candidate(value, _unique(kinds)), start + end - moved


def _repair_span(body: str, start: int) -> tuple[Candidate, int] | str:
    """The bracketed span at `start` repaired: by the targeted repairs of `scan` when they suffice, else
    by json-repair, audited; a message when the repair is refused."""
    quick = _quick_repair(body, start)
    if quick is not None:
        return quick
    audit = scan(body, start, audit=False)
    if audit.non_finite:
        return _NON_FINITE
    if audit.bad_number is not None:
        return f"repair refused: {audit.bad_number} is not a JSON number (it would become one not written)"
    if audit.dangling:
        return "repair refused: the answer is cut off at a key, before its value"
    kinds = tuple(dict.fromkeys(audit.kinds)) or ("syntax",)
    if audit.pieces is not None:  # the targeted repairs were enough: no json-repair pass
        try:
            return Candidate(parse_strict("".join(audit.pieces)), kinds), audit.end
        except ValueError:
            pass  # e.g. a control character inside a string: json-repair decides
    audit = scan(body, start)  # again, collecting what the audit of json-repair needs
    span = body[start : audit.end]
    import json_repair

    try:
        value, log = json_repair.repair_json(span, return_objects=True, logging=True, skip_json_loads=True)
    except RecursionError:
        raise
    except Exception as exc:  # a bug in the library must not become a traceback
        return f"not JSON, and json-repair failed: {type(exc).__name__}: {exc}"
    problem = _audit(value, span, audit, dict if span[0] == "{" else list)
    if problem:
        return problem
    notes = tuple(dict.fromkeys(str(entry.get("text", "")) for entry in log if isinstance(entry, dict)))[:10]
    return Candidate(value, kinds, notes), audit.end


def _audit(value: Any, span: str, audit: _Scan, expected: type) -> str | None:
    if not isinstance(value, expected):
        return "no JSON value could be recovered (the text is not JSON)"
    leaves = list(_leaves(value))
    if not leaves:
        return "no JSON content could be recovered (only brackets)"
    source = set(audit.strings)
    empties = Counter(audit.strings)[""]
    for kind, leaf in leaves:
        if kind == "s" and leaf == "":
            empties -= 1
            if empties < 0:
                return 'repair refused: it would invent an empty string "" for a missing value'
        elif kind == "s" and leaf not in source and leaf not in span:
            return f"repair refused: it would invent the string {_short(leaf)}"
        elif kind == "n" and isinstance(leaf, float) and leaf - leaf != 0.0:  # 1e400 read as inf
            return _NON_FINITE
        elif kind == "n" and float(leaf) not in audit.numbers:
            return f"repair refused: it would invent the number {leaf!r}"
        elif kind == "l" and leaf not in audit.literals:
            return f"repair refused: it would invent the value {json.dumps(leaf)}"
    kept = {leaf for kind, leaf in leaves if kind == "s"}
    lost = [s for s in audit.strings if s not in kept]
    if lost:
        return f"repair refused: it would drop the string {_short(lost[0])}"
    return None


def _leaves(value: Any) -> Iterator[tuple[str, Any]]:
    """(kind, leaf) for every key and scalar: s string, n number, l literal (iterative: no recursion)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                yield "s", k
                stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            yield "s", node
        elif isinstance(node, bool) or node is None:
            yield "l", node
        else:
            yield "n", node


def _short(text: str, limit: int = 60) -> str:
    return json.dumps(text if len(text) <= limit else text[:limit] + "...", ensure_ascii=False)
