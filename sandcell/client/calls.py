"""Request building and tool-call answering shared by the sync and async clients."""
from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sandcell.executor.v1 import executor_pb2 as pb
from sandcell.client.types import Limits, ToolSpec

__all__ = ["ToolMap", "OutputCallback", "create_request", "start_request", "tool_result",
           "auth_metadata", "tool_result_async"]

ToolMap = Mapping[str, Callable[..., Any]]
# Receives ("stdout" | "stderr", text) as the code prints.
OutputCallback = Callable[[str, str], None]

STREAM_NAMES = {pb.OUTPUT_STREAM_STDOUT: "stdout", pb.OUTPUT_STREAM_STDERR: "stderr"}


def auth_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


def create_request(limits: Limits | None, extra_imports: Sequence[str],
                   tools: Sequence[ToolSpec], file_access: bool) -> pb.CreateSessionRequest:
    return pb.CreateSessionRequest(
        limits=(limits or Limits()).to_proto(),
        extra_imports=list(extra_imports),
        tools=[t.to_proto() for t in tools],
        disable_file_access=not file_access,
    )


def start_request(session_id: str, code: str, wall_timeout_ms: int | None,
                  cpu_per_execute_ms: int | None, output_bytes: int | None) -> pb.ExecuteStart:
    return pb.ExecuteStart(session_id=session_id, code=code,
                           wall_timeout_ms=wall_timeout_ms or 0,
                           cpu_per_execute_ms=cpu_per_execute_ms or 0,
                           output_bytes=output_bytes or 0)


def _parse_args(call: pb.ToolCall) -> dict[str, Any]:
    args = json.loads(call.arguments_json or "{}")
    if not isinstance(args, dict):
        raise TypeError("tool arguments must be a JSON object")
    return args


def _ok(call: pb.ToolCall, value: Any) -> pb.ExecuteRequest:
    try:
        encoded = json.dumps(value)
    except (TypeError, ValueError) as exc:
        return _fail(call, TypeError(f"tool {call.name!r} returned a value that is not JSON-serializable: {exc}"))
    return pb.ExecuteRequest(tool_result=pb.ToolResult(call_id=call.call_id, result_json=encoded))


def _fail(call: pb.ToolCall, exc: BaseException) -> pb.ExecuteRequest:
    return pb.ExecuteRequest(tool_result=pb.ToolResult(
        call_id=call.call_id, error=pb.ToolError(type=type(exc).__name__, message=str(exc))))


def _lookup(tools: ToolMap | None, call: pb.ToolCall) -> Callable[..., Any]:
    fn = (tools or {}).get(call.name)
    if fn is None:
        raise NameError(f"tool {call.name!r} has no handler on the client")
    return fn


def tool_result(tools: ToolMap | None, call: pb.ToolCall) -> pb.ExecuteRequest:
    """Runs one tool call on the client side; any exception becomes a ToolError in the code."""
    try:
        value = _lookup(tools, call)(**_parse_args(call))
        if inspect.isawaitable(value):
            raise TypeError(f"tool {call.name!r} is async; use the async client")
    except Exception as exc:  # the tool's failure belongs to the sandboxed code, not to us
        return _fail(call, exc)
    return _ok(call, value)


async def tool_result_async(tools: ToolMap | None, call: pb.ToolCall) -> pb.ExecuteRequest:
    """Like tool_result, awaiting async tools."""
    try:
        value = _lookup(tools, call)(**_parse_args(call))
        if inspect.isawaitable(value):
            value = await value
    except Exception as exc:
        return _fail(call, exc)
    return _ok(call, value)
