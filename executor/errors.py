"""The executor's exception tree. Each leaf maps to one gRPC status code and an ErrorInfo reason."""
from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = [
    "ExecutorError", "SessionNotFoundError", "TooManySessionsError", "TooManyExecutesError",
    "RequestTooLargeError", "InvalidRequestError", "SessionBusyError", "AuthenticationError",
    "WorkerStartError", "ShuttingDownError", "SessionClosedError", "InternalError", "ERROR_DOMAIN", "to_status",
]

ERROR_DOMAIN = "sandcell.dev"


class ExecutorError(Exception):
    """Base: an RPC-level failure (never an error in the user's code)."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    reason: str = "INTERNAL"

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
    status = status_pb2.Status(code=getattr(code_pb2, err.code.name), message=err.message, details=[detail])
    return rpc_status.to_status(status)
