"""difyctl: the ops toolkit for teams that run Dify in production."""

import sys as _sys
from typing import Any as _Any

__version__ = "0.1.0"


class _NoHttpxCli:
    """`import httpx` also imports httpx's own command line client (httpx/_main.py: click,
    rich.progress, rich.syntax, pygments) whenever those are installed: 60 ms of CPU and 6 MB of RSS
    in every difyctl process that talks to a server, for a CLI difyctl never runs. httpx falls back
    to a stub `main` when that import fails; every other import passes through untouched."""

    @staticmethod
    def find_spec(name: str, *_: _Any) -> None:
        if name == "httpx._main":
            raise ModuleNotFoundError("difyctl does not load httpx's command line client", name=name)


if _NoHttpxCli not in _sys.meta_path:
    _sys.meta_path.insert(0, _NoHttpxCli)
