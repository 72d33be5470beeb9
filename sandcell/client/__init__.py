"""Typed Python client for the sandcell executor (sync and asyncio).

    with ExecutorClient("127.0.0.1:50051") as client, client.create_session() as s:
        r = s.execute("x = 21\nx * 2")
        r.value.python()  # 42
"""
from sandcell.client.aio import AsyncExecutorClient, AsyncSession
from sandcell.client.calls import OutputCallback, ToolMap
from sandcell.client.errors import (ExecutorUnavailable, InvalidArgument, ResourceExhausted,
                                    SandcellError, SessionBusy, SessionClosed, SessionNotFound,
                                    Unauthenticated)
from sandcell.client.sync import ExecutorClient, Session
from sandcell.client.tls import ClientTls
from sandcell.client.types import CodeError, ExecuteResult, Limits, SessionInfo, ToolSpec, Value

__all__ = [
    "ExecutorClient", "Session", "AsyncExecutorClient", "AsyncSession", "ClientTls",
    "Limits", "ToolSpec", "Value", "CodeError", "ExecuteResult", "SessionInfo",
    "ToolMap", "OutputCallback",
    "SandcellError", "SessionNotFound", "ResourceExhausted", "InvalidArgument", "SessionBusy",
    "Unauthenticated", "ExecutorUnavailable", "SessionClosed",
]
