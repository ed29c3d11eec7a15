"""difyctl: the ops toolkit for teams that run Dify in production."""

import sys as _sys

__version__ = "0.1.0"

# `import httpx` also imports httpx's own command line client (httpx/_main.py: click, rich.progress,
# rich.syntax, pygments) whenever those are installed: 60 ms of CPU and 6 MB of RSS in every difyctl
# process, for a CLI difyctl never runs. httpx falls back to a stub `main` when that import fails.
_sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
