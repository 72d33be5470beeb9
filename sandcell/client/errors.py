"""Typed client exceptions, one per gRPC status the executor uses."""
from __future__ import annotations

import grpc
from grpc_status import rpc_status
from google.rpc import error_details_pb2

__all__ = [
    "SandcellError",
    "SessionNotFound",
    "ResourceExhausted",
    "InvalidArgument",
    "SessionBusy",
    "Unauthenticated",
    "ExecutorUnavailable",
    "SessionClosed",
    "from_rpc_error",
]


class SandcellError(Exception):
    """Base for every error the executor returns as a gRPC status."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str, *, reason: str = "", metadata: dict[str, str] | None = None,
                 retry_after_s: float | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.metadata = dict(metadata or {})
        self.retry_after_s = retry_after_s  # from google.rpc.RetryInfo: when a retry may succeed


class SessionNotFound(SandcellError):
    code = grpc.StatusCode.NOT_FOUND


class ResourceExhausted(SandcellError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class InvalidArgument(SandcellError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class SessionBusy(SandcellError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Unauthenticated(SandcellError):
    code = grpc.StatusCode.UNAUTHENTICATED


class ExecutorUnavailable(SandcellError):
    code = grpc.StatusCode.UNAVAILABLE


class SessionClosed(SandcellError):
    """The session was closed (by CloseSession from any client, or its max lifetime) while
    this execute ran; reason SESSION_CLOSED. The session is gone: create a new one."""

    code = grpc.StatusCode.ABORTED


_BY_CODE = {cls.code: cls for cls in (SessionNotFound, ResourceExhausted, InvalidArgument,
                                      SessionBusy, Unauthenticated, ExecutorUnavailable,
                                      SessionClosed)}


def from_rpc_error(err: grpc.RpcError) -> SandcellError:
    """Turns a grpc error into the typed exception, keeping ErrorInfo's reason and metadata."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    message = err.details() if hasattr(err, "details") else str(err)
    reason, metadata, retry_after_s = "", {}, None
    try:
        status = rpc_status.from_call(err)
    except Exception:  # malformed trailers must not hide the original error
        status = None
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                retry_after_s = retry.retry_delay.ToNanoseconds() / 1e9
    cls = _BY_CODE.get(code, SandcellError)
    exc = cls(message or str(code), reason=reason, metadata=metadata, retry_after_s=retry_after_s)
    if cls is SandcellError:
        exc.code = code
    return exc
