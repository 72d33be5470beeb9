"""`sandcell.executor`: the executor service's public API (the `executor` package, loaded on
first use so that clients, which only need the generated `sandcell.executor.v1` protocol code,
don't import the server), plus that protocol code as the `v1` subpackage.

It is a real package rather than a pure alias because the proto package `sandcell.executor.v1`
must live at this path; `sandcell.executor.<module>` (e.g. `sandcell.executor.server`) is the
`executor.<module>` module itself, by way of sandcell._aliases.
"""
from __future__ import annotations

import importlib

__all__ = ["ServerConfig", "SessionLimits", "parse_config", "build_server", "RunningServer",
           "ExecutorError", "SessionNotFoundError", "TooManySessionsError", "TooManyExecutesError",
           "RequestTooLargeError", "InvalidRequestError", "SessionBusyError", "AuthenticationError",
           "WorkerStartError"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("executor"), name)
    raise AttributeError(f"module 'sandcell.executor' has no attribute {name!r}")
