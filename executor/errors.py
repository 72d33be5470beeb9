"""The executor's exception tree. Each leaf maps to one gRPC status code and an ErrorInfo reason."""
from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = [
    "ExecutorError", "SessionNotFoundError", "TooManySessionsError", "TooManyExecutesError",
    "RequestTooLargeError", "InvalidRequestError", "SessionBusyError", "AuthenticationError",
    "WorkerStartError", "ShuttingDownError", "SessionClosedError", "InternalError", "QuotaExceededError",
    "SessionsQuotaError", "ExecutesQuotaError", "CpuQuotaError", "ERROR_DOMAIN", "to_status",
]

ERROR_DOMAIN = "sandcell.dev"


class ExecutorError(Exception):
    """Base: an RPC-level failure (never an error in the user's code)."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    reason: str = "INTERNAL"
    retry_after_s: float | None = None  # set: the status carries a google.rpc.RetryInfo

    def __init__(self, message: str, **metadata: object):
        super().__init__(message)
        self.message = message
        self.metadata = {k: str(v) for k, v in metadata.items()}


class SessionNotFoundError(ExecutorError):
    code, reason = grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND"


class TooManySessionsError(ExecutorError):
    code, reason = grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_SESSIONS"


class TooManyExecutesError(ExecutorError):
    code, reason = grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_EXECUTES"


class QuotaExceededError(ExecutorError):
    """A tenant hit one of its own quotas (metadata `quota` names it, RetryInfo says when to retry);
    other tenants are unaffected. One leaf per quota."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    quota = ""

    def __init__(self, message: str, retry_after_s: float, **metadata: object):
        super().__init__(message, quota=self.quota, retry_after_ms=int(retry_after_s * 1000), **metadata)
        self.retry_after_s = retry_after_s


class SessionsQuotaError(QuotaExceededError):
    reason, quota = "TENANT_QUOTA_MAX_SESSIONS", "max_sessions"


class ExecutesQuotaError(QuotaExceededError):
    reason, quota = "TENANT_QUOTA_MAX_CONCURRENT_EXECUTES", "max_concurrent_executes"


class CpuQuotaError(QuotaExceededError):
    reason, quota = "TENANT_QUOTA_CPU_SECONDS_PER_MINUTE", "cpu_seconds_per_minute"


class RequestTooLargeError(ExecutorError):
    code, reason = grpc.StatusCode.RESOURCE_EXHAUSTED, "REQUEST_TOO_LARGE"


class InvalidRequestError(ExecutorError):
    code, reason = grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"


class SessionBusyError(ExecutorError):
    code, reason = grpc.StatusCode.FAILED_PRECONDITION, "SESSION_BUSY"


class AuthenticationError(ExecutorError):
    code, reason = grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"


class SessionClosedError(ExecutorError):
    """The session was closed (CloseSession, or its max lifetime or idle TTL) while this
    execute ran: the execute was stopped and nothing of it is kept."""
    code, reason = grpc.StatusCode.ABORTED, "SESSION_CLOSED"


class InternalError(ExecutorError):
    """A bug in the server (logged with the request id the message carries)."""
    code, reason = grpc.StatusCode.INTERNAL, "INTERNAL"


class WorkerStartError(ExecutorError):
    code, reason = grpc.StatusCode.UNAVAILABLE, "WORKER_START_FAILED"


class ShuttingDownError(ExecutorError):
    code, reason = grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN"


def to_status(err: ExecutorError) -> grpc.Status:
    """A grpc.Status carrying google.rpc.Status details (ErrorInfo) for context.abort_with_status."""
    info = error_details_pb2.ErrorInfo(reason=err.reason, domain=ERROR_DOMAIN, metadata=err.metadata)
    detail = any_pb2.Any()
    detail.Pack(info)
    details = [detail]
    if err.retry_after_s is not None:
        retry = any_pb2.Any()
        retry.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(
            seconds=int(err.retry_after_s), nanos=int(err.retry_after_s % 1 * 1e9))))
        details.append(retry)
    status = status_pb2.Status(code=getattr(code_pb2, err.code.name), message=err.message, details=details)
    return rpc_status.to_status(status)
