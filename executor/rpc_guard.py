"""What every executor RPC gets around its handler, whatever the handler does:

- requests that do not decode (a string field with invalid UTF-8, truncated bytes) are
  answered INVALID_ARGUMENT (reason INVALID_ARGUMENT, field "request"), not gRPC's own INTERNAL
  "Exception deserializing request!";
- an exception the handler did not turn into a status (a bug) is logged once, with a request
  id, and answered INTERNAL with that id, never a raw UNKNOWN carrying the exception's text.
"""
from __future__ import annotations

import logging
import uuid

import grpc
from google.protobuf.message import DecodeError

from executor.errors import InternalError, InvalidRequestError, to_status

__all__ = ["GuardInterceptor"]

log = logging.getLogger("sandcell.server")


class _Undecodable:
    """Stands in for a request whose bytes did not parse."""

    def __init__(self, error: Exception):
        self.error = error


def _lenient(deserializer):
    def decode(data: bytes):
        try:
            return deserializer(data)
        except (DecodeError, ValueError, RecursionError) as exc:
            return _Undecodable(exc)
    return decode


def _malformed(context, what: str) -> None:
    context.abort_with_status(to_status(InvalidRequestError(
        f"the {what} is not a valid protobuf message for this method (for example a string field "
        "that is not UTF-8); send one built from the executor's .proto", field="request")))


def _failed(context, method: str, exc: BaseException) -> None:
    """A handler bug: log it once with an id the caller also gets, and answer INTERNAL."""
    if context.code() is not None:  # the handler aborted with a status already: keep it
        raise exc
    request_id = uuid.uuid4().hex[:16]
    log.error("unexpected error in a handler", exc_info=exc, extra={
        "event": "handler_error", "method": method, "request_id": request_id})
    context.abort_with_status(to_status(InternalError(
        f"the executor failed unexpectedly (request id {request_id}); retry, and report the id "
        "to its operator if it persists", request_id=request_id)))


def _guard_unary(behavior, method):
    def handle(request, context):
        if isinstance(request, _Undecodable):
            _malformed(context, "request")
        try:
            return behavior(request, context)
        except Exception as exc:
            _failed(context, method, exc)
    return handle


def _guard_stream(behavior, method):
    def handle(request_iterator, context):
        def requests():
            for request in request_iterator:
                if isinstance(request, _Undecodable):
                    _malformed(context, "stream message")
                yield request
        try:
            yield from behavior(requests(), context)
        except Exception as exc:
            _failed(context, method, exc)
    return handle


class GuardInterceptor(grpc.ServerInterceptor):
    """Applies the guards above to the methods of one service (by its full name)."""

    def __init__(self, service: str):
        self._prefix = f"/{service}/"

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None or not details.method.startswith(self._prefix):
            return handler
        method = details.method
        decode = _lenient(handler.request_deserializer)
        if handler.request_streaming and handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(
                _guard_stream(handler.stream_stream, method), decode, handler.response_serializer)
        if not handler.request_streaming and not handler.response_streaming:
            return grpc.unary_unary_rpc_method_handler(
                _guard_unary(handler.unary_unary, method), decode, handler.response_serializer)
        return handler  # the service has no other kinds
