"""asyncio client for the executor service; mirrors the blocking one."""
from __future__ import annotations

from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sandcell.executor.v1 import executor_pb2 as pb
from sandcell.executor.v1 import executor_pb2_grpc as pb_grpc
from sandcell.client.calls import (STREAM_NAMES, OutputCallback, ToolMap, auth_metadata,
                                   create_request, start_request, tool_result_async)
from sandcell.client.errors import SandcellError, from_rpc_error
from sandcell.client.sync import CHANNEL_OPTIONS
from sandcell.client.tls import ClientTls, secure_channel
from sandcell.client.types import ExecuteResult, Limits, SessionInfo, ToolSpec

__all__ = ["AsyncExecutorClient", "AsyncSession"]


class AsyncExecutorClient:
    """Connects to an executor at `address`. Use as an async context manager."""

    def __init__(self, address: str, *, token: str | None = None, timeout_s: float | None = 60.0,
                 tls: ClientTls | None = None):
        self.address = address
        self._channel = secure_channel(address, tls, CHANNEL_OPTIONS, aio=True)
        self._stub = pb_grpc.ExecutorServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._md = auth_metadata(token)
        self._timeout_s = timeout_s

    async def _unary(self, method, request, timeout_s: float | None = None):
        try:
            return await method(request, metadata=self._md, timeout=timeout_s or self._timeout_s)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None

    async def create_session(self, *, limits: Limits | None = None,
                             extra_imports: Sequence[str] = (), tools: Sequence[ToolSpec] = (),
                             file_access: bool = True) -> "AsyncSession":
        resp = await self._unary(self._stub.CreateSession,
                                 create_request(limits, extra_imports, tools, file_access))
        return AsyncSession(self, SessionInfo.from_proto(resp.session))

    async def get_session(self, session_id: str) -> SessionInfo:
        resp = await self._unary(self._stub.GetSession, pb.GetSessionRequest(session_id=session_id))
        return SessionInfo.from_proto(resp.session)

    async def list_sessions(self) -> list[SessionInfo]:
        out, token = [], ""
        while True:
            resp = await self._unary(self._stub.ListSessions, pb.ListSessionsRequest(page_token=token))
            out.extend(SessionInfo.from_proto(s) for s in resp.sessions)
            if not (token := resp.next_page_token):
                return out

    async def close_session(self, session_id: str) -> SessionInfo:
        resp = await self._unary(self._stub.CloseSession, pb.CloseSessionRequest(session_id=session_id))
        return SessionInfo.from_proto(resp.session)

    async def health(self, service: str = "") -> bool:
        try:
            resp = await self._health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        except grpc.RpcError:
            return False
        return resp.status == health_pb2.HealthCheckResponse.SERVING

    async def execute(self, session_id: str, code: str, *, tools: ToolMap | None = None,
                      on_output: OutputCallback | None = None, wall_timeout_ms: int | None = None,
                      cpu_per_execute_ms: int | None = None, output_bytes: int | None = None,
                      timeout_s: float | None = None) -> ExecuteResult:
        """Runs code over the streaming RPC; tools may be plain or async callables."""
        start = start_request(session_id, code, wall_timeout_ms, cpu_per_execute_ms, output_bytes)
        printed = {"stdout": [], "stderr": []}
        call = self._stub.Execute(metadata=self._md, timeout=timeout_s)
        try:
            await call.write(pb.ExecuteRequest(start=start))
            while (resp := await call.read()) is not grpc.aio.EOF:
                kind = resp.WhichOneof("kind")
                if kind == "output":
                    stream = STREAM_NAMES.get(resp.output.stream, "stdout")
                    printed[stream].append(resp.output.text)
                    if on_output is not None:
                        on_output(stream, resp.output.text)
                elif kind == "tool_call":
                    await call.write(await tool_result_async(tools, resp.tool_call))
                elif kind == "result":
                    await call.done_writing()
                    return ExecuteResult.from_proto(resp.result, "".join(printed["stdout"]),
                                                    "".join(printed["stderr"]))
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None
        finally:
            call.cancel()
        raise SandcellError("the Execute stream ended without a result")

    async def execute_unary(self, session_id: str, code: str, *, wall_timeout_ms: int | None = None,
                            cpu_per_execute_ms: int | None = None, output_bytes: int | None = None,
                            timeout_s: float | None = None) -> ExecuteResult:
        start = start_request(session_id, code, wall_timeout_ms, cpu_per_execute_ms, output_bytes)
        resp = await self._unary(self._stub.ExecuteUnary, pb.ExecuteUnaryRequest(start=start), timeout_s)
        return ExecuteResult.from_proto(resp.result, resp.stdout, resp.stderr)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> "AsyncExecutorClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


class AsyncSession:
    """Async handle on one session."""

    def __init__(self, client: AsyncExecutorClient, info: SessionInfo):
        self.client = client
        self.info = info
        self.id = info.session_id

    async def execute(self, code: str, **kwargs) -> ExecuteResult:
        return await self.client.execute(self.id, code, **kwargs)

    async def execute_unary(self, code: str, **kwargs) -> ExecuteResult:
        return await self.client.execute_unary(self.id, code, **kwargs)

    async def close(self) -> None:
        await self.client.close_session(self.id)

    async def __aenter__(self) -> "AsyncSession":
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            await self.close()
        except Exception:
            pass
