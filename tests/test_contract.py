"""The contract as other languages read it: every ErrorInfo reason the server sends is named
in the proto's ErrorReason enum, so a generated client can match on it."""
from __future__ import annotations

from executor import errors
from sandcell.executor.v1 import executor_pb2 as pb


def _leaves(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _leaves(sub)


def test_every_server_error_reason_is_in_the_proto_enum():
    reasons = {cls.reason for cls in [errors.ExecutorError, *_leaves(errors.ExecutorError)]}
    named = set(pb.ErrorReason.keys()) - {"ERROR_REASON_UNSPECIFIED"}
    assert reasons <= named, f"add to ErrorReason in executor.proto: {sorted(reasons - named)}"
