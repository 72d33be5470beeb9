"""The contract as other languages read it: every ErrorInfo reason the server sends is named
in the proto's ErrorReason enum, so a generated client can match on it; tool results from a
hand-written client behave as the proto comments say."""
from __future__ import annotations

import json
import queue

import grpc
import pytest

from executor import errors
from sandcell.client import Limits, ToolSpec
from sandcell.executor.v1 import executor_pb2 as pb
from sandcell.executor.v1 import executor_pb2_grpc as pb_grpc


def _leaves(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _leaves(sub)


def test_every_server_error_reason_is_in_the_proto_enum():
    reasons = {cls.reason for cls in [errors.ExecutorError, *_leaves(errors.ExecutorError)]}
    named = set(pb.ErrorReason.keys()) - {"ERROR_REASON_UNSPECIFIED"}
    assert reasons <= named, f"add to ErrorReason in executor.proto: {sorted(reasons - named)}"


def _raw_execute(address: str, session_id: str, code: str, answer) -> pb.ExecuteResult:
    """Execute through the generated stub, answering each ToolCall with answer(call) -> [ToolResult]:
    what a client in another language does by hand."""
    outbox: queue.SimpleQueue = queue.SimpleQueue()
    outbox.put(pb.ExecuteRequest(start=pb.ExecuteStart(session_id=session_id, code=code)))

    def requests():
        while (item := outbox.get()) is not None:
            yield item

    with grpc.insecure_channel(address) as channel:
        call = pb_grpc.ExecutorServiceStub(channel).Execute(requests(), timeout=60)
        try:
            for resp in call:
                if resp.WhichOneof("kind") == "tool_call":
                    for result in answer(resp.tool_call):
                        outbox.put(pb.ExecuteRequest(tool_result=result))
                elif resp.WhichOneof("kind") == "result":
                    return resp.result
        finally:
            outbox.put(None)
    raise AssertionError("no result")


@pytest.mark.usefixtures("service_intact")
def test_a_tool_result_that_is_not_json_is_a_tool_error_in_the_code(client, executor_address):
    with client.create_session(tools=[ToolSpec("lookup")], limits=Limits(wall_timeout_ms=10_000)) as s:
        s.execute("kept = 5")
        r = _raw_execute(executor_address, s.id, "lookup(q=1)",
                         lambda call: [pb.ToolResult(call_id=call.call_id, result_json="{not json")])
        assert r.status == pb.EXECUTE_STATUS_ERROR and r.error.type == "ToolError"
        assert "result_json is not JSON" in r.error.message and "{not json" in r.error.message
        # Empty means None; an answer to an id nobody waits for is ignored, the right one counts.
        r = _raw_execute(executor_address, s.id, "[lookup(q=1), lookup(q=2)]",
                         lambda call: [pb.ToolResult(call_id="no-such-call", result_json="99"),
                                       pb.ToolResult(call_id=call.call_id, result_json="" if call.arguments_json == '{"q": 1}' else "2")])
        assert r.status == pb.EXECUTE_STATUS_OK and json.loads(r.value.json) == [None, 2], r
        assert s.execute("kept").value.python() == 5
