"""Blocking client for the executor service."""
from __future__ import annotations

import queue
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sandcell.executor.v1 import executor_pb2 as pb
from sandcell.executor.v1 import executor_pb2_grpc as pb_grpc
from sandcell.client.calls import (STREAM_NAMES, OutputCallback, ToolMap, auth_metadata,
                                   create_request, start_request, tool_result)
from sandcell.client.errors import from_rpc_error
from sandcell.client.tls import ClientTls, secure_channel
from sandcell.client.types import ExecuteResult, Limits, SessionInfo, ToolSpec

__all__ = ["ExecutorClient", "Session", "CHANNEL_OPTIONS"]

# Large enough for big code cells and outputs; the server enforces its own caps.
CHANNEL_OPTIONS = (("grpc.max_send_message_length", 64 << 20),
                   ("grpc.max_receive_message_length", 64 << 20))


class ExecutorClient:
    """Connects to an executor at `address` ("host:port"). Use as a context manager."""

    def __init__(self, address: str, *, token: str | None = None, timeout_s: float | None = 60.0,
                 channel: grpc.Channel | None = None, tls: ClientTls | None = None):
        """`tls`: connect over TLS (ClientTls: the server's CA; a client certificate for mTLS)."""
        self.address = address
        self._channel = channel or secure_channel(address, tls, CHANNEL_OPTIONS)
        self._stub = pb_grpc.ExecutorServiceStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._md = auth_metadata(token)
        self._timeout_s = timeout_s

    def _unary(self, method, request, timeout_s: float | None = None):
        try:
            return method(request, metadata=self._md, timeout=timeout_s or self._timeout_s)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None

    def create_session(self, *, limits: Limits | None = None, extra_imports: Sequence[str] = (),
                       tools: Sequence[ToolSpec] = (), file_access: bool = True) -> "Session":
        resp = self._unary(self._stub.CreateSession,
                           create_request(limits, extra_imports, tools, file_access))
        return Session(self, SessionInfo.from_proto(resp.session))

    def get_session(self, session_id: str) -> SessionInfo:
        resp = self._unary(self._stub.GetSession, pb.GetSessionRequest(session_id=session_id))
        return SessionInfo.from_proto(resp.session)

    def list_sessions(self) -> list[SessionInfo]:
        out, token = [], ""
        while True:
            resp = self._unary(self._stub.ListSessions, pb.ListSessionsRequest(page_token=token))
            out.extend(SessionInfo.from_proto(s) for s in resp.sessions)
            token = resp.next_page_token
            if not token:
                return out

    def close_session(self, session_id: str) -> SessionInfo:
        resp = self._unary(self._stub.CloseSession, pb.CloseSessionRequest(session_id=session_id))
        return SessionInfo.from_proto(resp.session)

    def health(self, service: str = "") -> bool:
        """True when the server reports SERVING."""
        try:
            resp = self._health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        except grpc.RpcError:
            return False
        return resp.status == health_pb2.HealthCheckResponse.SERVING

    def execute(self, session_id: str, code: str, *, tools: ToolMap | None = None,
                on_output: OutputCallback | None = None, wall_timeout_ms: int | None = None,
                cpu_per_execute_ms: int | None = None, output_bytes: int | None = None,
                timeout_s: float | None = None) -> ExecuteResult:
        """Runs code over the streaming RPC, answering tool calls with `tools`."""
        start = start_request(session_id, code, wall_timeout_ms, cpu_per_execute_ms, output_bytes)
        outbox: queue.SimpleQueue = queue.SimpleQueue()
        outbox.put(pb.ExecuteRequest(start=start))

        def requests():
            while (item := outbox.get()) is not None:
                yield item

        printed = {"stdout": [], "stderr": []}
        call = self._stub.Execute(requests(), metadata=self._md, timeout=timeout_s)
        try:
            for resp in call:
                kind = resp.WhichOneof("kind")
                if kind == "output":
                    stream = STREAM_NAMES.get(resp.output.stream, "stdout")
                    printed[stream].append(resp.output.text)
                    if on_output is not None:
                        on_output(stream, resp.output.text)
                elif kind == "tool_call":
                    outbox.put(tool_result(tools, resp.tool_call))
                elif kind == "result":
                    return ExecuteResult.from_proto(resp.result, "".join(printed["stdout"]),
                                                    "".join(printed["stderr"]))
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None
        finally:
            outbox.put(None)
            call.cancel()
        raise from_rpc_error(_NoResult())

    def execute_unary(self, session_id: str, code: str, *, wall_timeout_ms: int | None = None,
                      cpu_per_execute_ms: int | None = None, output_bytes: int | None = None,
                      timeout_s: float | None = None) -> ExecuteResult:
        """Runs code over the unary RPC (no tool callbacks)."""
        start = start_request(session_id, code, wall_timeout_ms, cpu_per_execute_ms, output_bytes)
        resp = self._unary(self._stub.ExecuteUnary, pb.ExecuteUnaryRequest(start=start), timeout_s)
        return ExecuteResult.from_proto(resp.result, resp.stdout, resp.stderr)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "ExecutorClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _NoResult(grpc.RpcError):
    """The stream ended without a result: a server bug or a dropped connection."""

    def code(self):
        return grpc.StatusCode.INTERNAL

    def details(self):
        return "the Execute stream ended without a result"


class Session:
    """A handle on one session. Closing it (or leaving the `with` block) closes it server-side."""

    def __init__(self, client: ExecutorClient, info: SessionInfo):
        self.client = client
        self.info = info
        self.id = info.session_id

    def execute(self, code: str, **kwargs) -> ExecuteResult:
        return self.client.execute(self.id, code, **kwargs)

    def execute_unary(self, code: str, **kwargs) -> ExecuteResult:
        return self.client.execute_unary(self.id, code, **kwargs)

    def refresh(self) -> SessionInfo:
        self.info = self.client.get_session(self.id)
        return self.info

    def close(self) -> None:
        self.client.close_session(self.id)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.close()
        except Exception:  # already closed or server gone: nothing left to clean up
            pass
