"""The async twins must not drift from the sync clients: same methods, same parameters."""

from __future__ import annotations

import inspect

import pytest

from difyctl.client.base import AsyncAPIClient, SyncAPIClient
from difyctl.client.console import AsyncConsoleClient, ConsoleClient
from difyctl.client.service import AsyncServiceClient, ServiceClient

SYNC_ONLY = {"close"}
ASYNC_ONLY = {"aclose"}


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize(
    ("sync_cls", "async_cls", "same_surface"),
    [
        (SyncAPIClient, AsyncAPIClient, True),
        (ServiceClient, AsyncServiceClient, True),
        (ConsoleClient, AsyncConsoleClient, False),  # the async console is the read side only
    ],
)
def test_twins_share_their_signatures(sync_cls: type, async_cls: type, same_surface: bool) -> None:
    sync, async_ = _public(sync_cls), _public(async_cls)
    if same_surface:
        assert set(sync) - SYNC_ONLY == set(async_) - ASYNC_ONLY
    else:
        assert set(async_) - ASYNC_ONLY <= set(sync)
    for name in set(async_) - ASYNC_ONLY:
        assert list(sync[name].parameters.values()) == list(async_[name].parameters.values()), name


def test_async_twin_methods_are_coroutines_or_async_iterators() -> None:
    for cls in (AsyncServiceClient, AsyncConsoleClient):
        for name, member in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_") or name in ("stream", "open_stream"):  # async iterator / context
                continue
            assert inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member), name


def test_async_console_covers_the_snapshot_fan_out() -> None:
    needed = {"list_apps", "iter_apps", "get_app", "export_dsl", "get_published", "server_version"}
    assert needed <= set(_public(AsyncConsoleClient))
