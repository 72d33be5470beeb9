"""Tools from MCP servers (the official `mcp` SDK): MCPClient and ToolCollection.from_mcp.

MCP clients are async; agents are not. One event loop runs in a background thread for the
client's lifetime: a single task there opens every server connection and, when the client is
closed, closes them (the SDK's transports must be entered and left by the same task); tool
calls are submitted to that loop from the agent's threads. Tools run in the agent process
(they talk to the MCP server), never in the sandbox.

`server_parameters`: an `mcp.StdioServerParameters` (a subprocess over stdio), a dict
{"url": ..., "transport": "streamable-http"} (the default transport), or a list of these.
"""
from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from agent.errors import AgentError
from agent.tools import Tool, input_from_json_schema

__all__ = ["MCPClient", "tool_collection_from_mcp", "MCPError"]


class MCPError(AgentError):
    """An MCP server could not be reached, or a tool call failed at the protocol level."""


class _MCPTool(Tool):
    def __init__(self, client: "MCPClient", session: Any, mcp_tool: Any, structured_output: bool):
        self._client, self._session = client, session
        self.name = mcp_tool.name.replace("-", "_")
        self.mcp_name = mcp_tool.name
        self.description = mcp_tool.description or mcp_tool.name
        schema = mcp_tool.input_schema if hasattr(mcp_tool, "input_schema") else mcp_tool.inputSchema
        required = set((schema or {}).get("required", []))
        props = (schema or {}).get("properties", {})
        self.inputs = {k: input_from_json_schema(v, k in required) for k, v in props.items()}
        self.structured_output = structured_output
        self.output_type = "object" if structured_output else "string"

    def _check_definition(self) -> None:
        pass

    def forward(self, **kwargs: Any) -> Any:
        args = {k: v for k, v in kwargs.items() if v is not None}
        result = self._client._call(self._session.call_tool(self.mcp_name, args))
        structured = getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)
        texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
        if getattr(result, "is_error", None) or getattr(result, "isError", False):
            raise MCPError(f"MCP tool {self.mcp_name!r} failed: {' '.join(texts) or 'no message'}")
        if self.structured_output and structured is not None:
            return structured
        return "\n".join(texts)


class MCPClient:
    """Connects to one or more MCP servers; `get_tools()` returns their tools. Use as a context
    manager (`with MCPClient(params) as tools:`) or call `disconnect()`."""

    def __init__(self, server_parameters: Any | Sequence[Any], adapter_kwargs: dict[str, Any] | None = None,
                 structured_output: bool | None = None, connect_timeout_s: float = 30.0):
        if adapter_kwargs:
            raise TypeError("adapter_kwargs configure smolagents' mcpadapt, which sandcell does not use; "
                            "pass connection options (headers) in the server parameters dict")
        self.structured_output = bool(structured_output)
        params = list(server_parameters) if isinstance(server_parameters, (list, tuple)) else [server_parameters]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mcp-client", daemon=True)
        self._thread.start()
        self._ready: asyncio.Future | None = None
        self._stop: asyncio.Event | None = None
        self._tools: list[Tool] = []
        self._main: Any = None
        try:
            self._tools = self._call(self._start(params), timeout_s=connect_timeout_s)
        except BaseException:
            self.disconnect()
            raise

    # ---- the loop's side ----
    async def _start(self, params: list[Any]) -> list[Tool]:
        self._stop = asyncio.Event()
        ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self._main = asyncio.ensure_future(self._hold(params, ready))
        return await ready

    async def _hold(self, params: list[Any], ready: asyncio.Future) -> None:
        """Opens every connection, hands the tools over, waits for disconnect(), closes them."""
        from mcp import ClientSession

        try:
            async with contextlib.AsyncExitStack() as stack:
                tools: list[Tool] = []
                for p in params:
                    read, write = await self._open_transport(stack, p)
                    session = await stack.enter_async_context(ClientSession(read, write))
                    await session.initialize()
                    listed = await session.list_tools()
                    tools += [_MCPTool(self, session, t, self.structured_output) for t in listed.tools]
                ready.set_result(tools)
                await self._stop.wait()
        except BaseException as exc:  # connection failures reach the constructor's caller
            if not ready.done():
                root = exc
                while isinstance(root, BaseExceptionGroup) and root.exceptions:  # anyio's task groups wrap it
                    root = root.exceptions[0]
                ready.set_exception(MCPError(f"could not connect to the MCP server: {type(root).__name__}: {root}"))
            elif not isinstance(exc, asyncio.CancelledError):
                raise

    @staticmethod
    async def _open_transport(stack: contextlib.AsyncExitStack, p: Any) -> tuple[Any, Any]:
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        if isinstance(p, StdioServerParameters):
            streams = await stack.enter_async_context(stdio_client(p))
            return streams[0], streams[1]
        if isinstance(p, dict) and "url" in p:
            transport = p.get("transport", "streamable-http")
            if transport == "streamable-http":
                from mcp.client.streamable_http import streamable_http_client
                kwargs: dict[str, Any] = {}
                if p.get("headers"):
                    import httpx2
                    kwargs["http_client"] = await stack.enter_async_context(
                        httpx2.AsyncClient(headers=p["headers"]))
                streams = await stack.enter_async_context(streamable_http_client(p["url"], **kwargs))
                return streams[0], streams[1]
            if transport == "sse":
                from mcp.client.sse import sse_client
                streams = await stack.enter_async_context(sse_client(p["url"]))
                return streams[0], streams[1]
            raise TypeError(f"MCP transport {transport!r}: use 'streamable-http' (default) or 'sse'")
        raise TypeError("MCP server parameters must be mcp.StdioServerParameters or a dict with a 'url'")

    # ---- the caller's side ----
    def _call(self, coro: Any, timeout_s: float | None = 300.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    def get_tools(self) -> list[Tool]:
        return list(self._tools)

    def disconnect(self, exc_type: Any = None, exc_value: Any = None, exc_traceback: Any = None) -> None:
        if not self._thread.is_alive():
            return
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._main is not None:
            try:
                asyncio.run_coroutine_threadsafe(asyncio.wait([self._main], timeout=15), self._loop).result(20)
            except Exception:  # closing is best effort; the daemon thread dies with the process
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> list[Tool]:
        return self.get_tools()

    def __exit__(self, *exc: Any) -> None:
        self.disconnect()


@contextlib.contextmanager
def tool_collection_from_mcp(cls: Any, server_parameters: Any, *, trust_remote_code: bool = False,
                             structured_output: bool | None = None) -> Iterator[Any]:
    if not trust_remote_code:
        raise AgentError("ToolCollection.from_mcp runs tools an MCP server describes, with this process's "
                         "access; pass trust_remote_code=True if you trust that server")
    client = MCPClient(server_parameters, structured_output=structured_output)
    try:
        yield cls(client.get_tools())
    finally:
        client.disconnect()
