"""A per-document CPU-time limit on the Python side of validation, so that no schema can hang difyctl.

Python's ``re`` backtracks: ``"pattern": "^(a+)+$"`` against 50 x ``a`` + ``!`` never finishes. jsonschema
calls ``re.search`` from several keywords (pattern, patternProperties, additionalProperties,
unevaluatedProperties), so instead of re-implementing them on another regex engine, the whole Python
validation of one document runs under a CPU-time alarm: ``ITIMER_VIRTUAL`` delivers ``SIGVTALRM``, which
``re``'s matching loop checks, and the handler raises `TimeLimitExceeded` naming the pattern it found
being matched. The timer counts this process's CPU time, so a busy machine does not shorten it; other
threads' CPU can fire it early, and then it is simply re-armed for the rest of this thread's budget.

Signals reach only the main thread: elsewhere (none of difyctl's callers) the guard is a no-op. The
handler is installed once and does nothing when no limit is active, so an alarm that lands just after
a document finished is harmless. ``SIGVTALRM`` is used by nothing else here (pytest-timeout and friends
use ``SIGALRM``).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

DEFAULT_TIME_LIMIT = 2.0  # CPU seconds for the Python-side validation of one document


class TimeLimitExceeded(Exception):
    def __init__(self, seconds: float, pattern: str | None) -> None:
        super().__init__(seconds, pattern)
        self.seconds = seconds
        self.pattern = pattern


class _Active(threading.local):
    seconds: float = 0.0
    start: float = 0.0
    armed: bool = False


_active = _Active()
_installed = False


def _available() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _pattern_in(frame: FrameType | None) -> str | None:
    """The pattern `re.search`/`re.match` was called with, from the interrupted frames (None if none)."""
    while frame is not None:
        code = frame.f_code
        if code.co_name in ("search", "match", "fullmatch", "_compile") and code.co_filename.endswith(
            ("re/__init__.py", "re.py")
        ):
            found = frame.f_locals.get("pattern")
            if isinstance(found, str):
                return found
        frame = frame.f_back
    return None


def _on_alarm(_signum: int, frame: FrameType | None) -> None:
    if not _active.armed:
        return  # the document already finished
    used = time.thread_time() - _active.start
    if used < _active.seconds:  # CPU of other threads fired it early: wait for the rest of ours
        signal.setitimer(signal.ITIMER_VIRTUAL, max(_active.seconds - used, 0.001))
        return
    _active.armed = False
    raise TimeLimitExceeded(_active.seconds, _pattern_in(frame))


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise `TimeLimitExceeded` in the body once it has used `seconds` of CPU (<= 0: no limit)."""
    global _installed
    if seconds <= 0 or _active.armed or not _available():
        yield
        return
    if not _installed:
        signal.signal(signal.SIGVTALRM, _on_alarm)
        _installed = True
    _active.seconds, _active.start, _active.armed = seconds, time.thread_time(), True
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        _active.armed = False
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
