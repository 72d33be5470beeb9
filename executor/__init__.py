"""sandcell executor: the gRPC service that runs untrusted Python in jailed, stateful sessions.

Public API (imported lazily so that the zygote and workers, which import submodules of this
package, don't pull in gRPC):

    from executor import ServerConfig, SessionLimits, build_server
    running = build_server(ServerConfig(port=0))
    ...
    running.stop()
"""
from __future__ import annotations

import importlib

__all__ = ["ServerConfig", "SessionLimits", "parse_config", "build_server", "RunningServer",
           "ExecutorError", "SessionNotFoundError", "TooManySessionsError", "TooManyExecutesError",
           "RequestTooLargeError", "InvalidRequestError", "SessionBusyError", "AuthenticationError",
           "WorkerStartError", "ShuttingDownError", "SessionClosedError", "InternalError"]

_HOME = {
    "ServerConfig": "executor.config", "SessionLimits": "executor.config", "parse_config": "executor.config",
    "build_server": "executor.server", "RunningServer": "executor.server",
}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    if name in __all__:
        return getattr(importlib.import_module("executor.errors"), name)
    raise AttributeError(f"module 'executor' has no attribute {name!r}")
