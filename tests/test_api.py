"""The executor's gRPC API against a real server process: sessions, state, values, errors."""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time

import grpc
import pytest

from sandcell.client import (AsyncExecutorClient, ExecutorClient, ExecutorUnavailable, InvalidArgument, Limits,
                             ResourceExhausted, SessionBusy, SessionNotFound, ToolSpec, Unauthenticated)
from sandcell.executor.v1 import executor_pb2 as pb
from sandcell.executor.v1 import executor_pb2_grpc as pb_grpc
from sandcell.local import ExecutorProcess


def test_state_persists_across_executes(session):
    assert session.execute("x = 20\ndef double(v):\n    return v * 2").ok
    assert session.execute("class Box:\n    def __init__(self, v):\n        self._v = v\n"
                           "    def get(self):\n        return self._v").ok
    assert session.execute("import math\nroots = [math.isqrt(n) for n in (4, 9, 16)]").ok
    r = session.execute("Box(double(x) + 2).get(), roots")
    assert r.ok, r
    assert r.value.python() == [42, [2, 3, 4]]
    assert r.value.type_name == "tuple"


def test_stdlib_functions_that_import_lazily_work_in_a_jailed_worker(session):
    """datetime/time.strptime import _strptime on every call (3.12+); the worker can't read
    module files, so the zygote must have prepared what that import returns."""
    r = session.execute("import datetime, time\n"
                        "(datetime.datetime.strptime('2024-02-29 13:05', '%Y-%m-%d %H:%M').isoformat(),"
                        " time.strptime('31/12/2023', '%d/%m/%Y').tm_yday)")
    assert r.ok, r
    assert r.value.python() == ["2024-02-29T13:05:00", 365]


def test_values_carry_type_json_and_bounded_repr(session):
    r = session.execute("{'a': [1, 2.5, None, True], 'b': 'text'}")
    assert r.value.type_name == "dict" and r.value.python() == {"a": [1, 2.5, None, True], "b": "text"}
    r = session.execute("import datetime\ndatetime.date(2024, 1, 2)")
    assert r.value.type_name == "date" and r.value.json is None and r.value.repr == "datetime.date(2024, 1, 2)"
    r = session.execute("list(range(50_000))")
    assert r.value.python() == list(range(50_000)) and r.value.repr_truncated
    r = session.execute("list(range(200_000))")  # past the JSON node budget: repr only, abbreviated
    assert r.value.json is None and r.value.repr.endswith("...]") and r.value.repr_truncated
    r = session.execute("'y' * 100000")
    assert r.value.repr_truncated and len(r.value.repr) < 5000
    assert session.execute("x = 1").value is None  # statements have no value


def test_stdout_streams_in_order_and_unary_collects(session):
    seen = []
    r = session.execute("for i in range(3):\n    print(i, end=';')\nprint('a', 'b', sep='-')",
                        on_output=lambda stream, text: seen.append((stream, text)))
    assert r.stdout == "0;1;2;a-b\n"
    assert "".join(t for s, t in seen if s == "stdout") == r.stdout
    u = session.execute_unary("print('hello')\n6 * 7")
    assert u.stdout == "hello\n" and u.value.python() == 42


def test_user_errors_are_results_with_user_frames_only(session):
    r = session.execute("def inner(d):\n    return d['missing']\n\nx = 1\ninner({})")
    assert r.status == "error" and r.error.type == "KeyError"
    assert r.error.line_number == 2
    assert "inner" in r.error.traceback and "executor" not in r.error.traceback
    assert "/worker.py" not in r.error.traceback
    r = session.execute("def broken(:\n    pass")
    assert r.status == "error" and r.error.type == "SyntaxError" and r.error.line_number == 1
    assert session.execute("x").value.python() == 1  # statements before the error ran


def test_session_lifecycle_get_list_close(client):
    s = client.create_session(limits=Limits(wall_timeout_ms=5_000, memory_bytes=256 << 20),
                              extra_imports=["json"])
    info = client.get_session(s.id)
    assert info.state == "idle" and info.limits.wall_timeout_ms == 5_000
    assert info.limits.memory_bytes == 256 << 20 and "json" in info.allowed_imports
    assert len(s.id) >= 20  # unguessable
    s.execute("import json\njson.dumps([1])")
    assert client.get_session(s.id).execute_count == 1
    assert s.id in {i.session_id for i in client.list_sessions()}
    client.close_session(s.id)
    with pytest.raises(SessionNotFound) as e:
        s.execute("1")
    assert e.value.reason == "SESSION_NOT_FOUND" and "create a new session" in e.value.message
    with pytest.raises(SessionNotFound):
        client.close_session(s.id)


def test_bad_requests_get_clear_errors(client):
    with pytest.raises(InvalidArgument, match="memory_bytes.*exceeds the server maximum"):
        client.create_session(limits=Limits(memory_bytes=1 << 50))
    # below what the runtime itself maps, the worker could not even be jailed: say so, with the floor
    with pytest.raises(InvalidArgument, match=r"memory_bytes=8388608 is too small.*ask for at least \d+") as e:
        client.create_session(limits=Limits(memory_bytes=8 << 20))
    assert e.value.metadata.get("field") == "limits.memory_bytes"
    with pytest.raises(InvalidArgument, match="outside the server's ceiling"):
        client.create_session(extra_imports=["os"])
    with pytest.raises(InvalidArgument, match="not a module name"):
        client.create_session(extra_imports=["os; rm -rf"])
    with pytest.raises(InvalidArgument, match="reserved"):
        client.create_session(tools=[ToolSpec("final_answer")])
    with pytest.raises(InvalidArgument, match="declared twice"):
        client.create_session(tools=[ToolSpec("t"), ToolSpec("t")])


def test_execute_stream_must_start_with_start(executor_address):
    with grpc.insecure_channel(executor_address) as ch:
        stub = pb_grpc.ExecutorServiceStub(ch)
        bad = iter([pb.ExecuteRequest(tool_result=pb.ToolResult(call_id="1", result_json="1"))])
        with pytest.raises(grpc.RpcError) as e:
            list(stub.Execute(bad))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as e:
            stub.ExecuteUnary(pb.ExecuteUnaryRequest(start=pb.ExecuteStart(code="1")))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_oversized_code_is_refused_and_session_survives(session):
    session.execute("kept = 7")
    with pytest.raises(ResourceExhausted, match="larger than the server's limit"):
        session.execute("#" * (2 << 20))
    assert session.execute("kept").value.python() == 7


def test_busy_session_is_refused_not_queued(client):
    with client.create_session() as s:
        started = threading.Event()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            fut = pool.submit(s.execute, "import time\nprint('go', flush=True)\ntime.sleep(1.5)\n'done'",
                              on_output=lambda *_: started.set())
            assert started.wait(10)
            with pytest.raises(SessionBusy, match="running another execute"):
                s.execute("1")
            assert fut.result().value.python() == "done"
        assert s.execute("2").value.python() == 2


def test_many_sessions_at_once_keep_separate_state(client):
    sessions = [client.create_session() for _ in range(12)]
    try:
        def work(i_s):
            i, s = i_s
            s.execute(f"mine = {i}")
            return s.execute("mine * 10").value.python()
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            assert list(pool.map(work, enumerate(sessions))) == [i * 10 for i in range(12)]
    finally:
        for s in sessions:
            s.close()


def test_tools_called_from_sandboxed_code(client):
    calls = []

    def lookup(city: str, unit: str = "C"):
        calls.append((city, unit))
        if city == "Atlantis":
            raise LookupError("no such city")
        return {"city": city, "temp": 21, "unit": unit}

    spec = ToolSpec("lookup", "weather", {"type": "object", "properties": {"city": {"type": "string"},
                                                                          "unit": {"type": "string"}}})
    with client.create_session(tools=[spec]) as s:
        r = s.execute("w = lookup('Paris', unit='F')\nprint(w['temp'])\nw", tools={"lookup": lookup})
        assert r.ok, r
        assert r.value.python() == {"city": "Paris", "temp": 21, "unit": "F"} and r.stdout == "21\n"
        r = s.execute("try:\n    lookup(city='Atlantis')\nexcept ToolError as e:\n    msg = str(e)\nmsg",
                      tools={"lookup": lookup})
        assert "no such city" in r.value.python() and "LookupError" in r.value.python()
        r = s.execute_unary("lookup('Rome')")
        assert r.status == "error" and "ExecuteUnary" in r.error.message
        assert calls == [("Paris", "F"), ("Atlantis", "C")]


def test_final_answer_ends_execute_and_cannot_be_swallowed(session):
    r = session.execute("print('before')\ntry:\n    final_answer({'answer': 42})\nexcept BaseException:\n"
                        "    print('swallowed')\nprint('after')")
    assert r.ok and r.is_final_answer and r.value.python() == {"answer": 42}
    assert r.stdout == "before\n"
    r = session.execute("final_answer = lambda x: x")
    assert r.status == "error" and "final_answer" in r.error.message
    assert session.execute("final_answer('still works')").is_final_answer


def test_async_client(executor_address):
    async def main():
        async with AsyncExecutorClient(executor_address) as c:
            s = await c.create_session(tools=[ToolSpec("add", parameters={"type": "object", "properties": {
                "a": {"type": "integer"}, "b": {"type": "integer"}}})])

            async def add(a, b):
                await asyncio.sleep(0)
                return a + b
            r = await s.execute("total = add(2, 3)\ntotal * 10", tools={"add": add})
            assert r.value.python() == 50
            assert (await s.execute_unary("total")).value.python() == 5
            await s.close()
    asyncio.run(main())


def test_token_auth_and_session_limit():
    proc = ExecutorProcess("--token", "s3cret", "--max-sessions", "2")
    try:
        with ExecutorClient(proc.address) as anon:
            assert anon.health()  # probes need no token
            with pytest.raises(Unauthenticated, match="bearer token"):
                anon.create_session()
        with ExecutorClient(proc.address, token="wrong") as wrong:
            with pytest.raises(Unauthenticated):
                wrong.list_sessions()
        with ExecutorClient(proc.address, token="s3cret") as c:
            a, b = c.create_session(), c.create_session()
            with pytest.raises(ResourceExhausted, match="maximum of 2 sessions"):
                c.create_session()
            a.close()
            c.create_session().execute("1")
            b.execute("1")
    finally:
        proc.stop()


def test_graceful_shutdown_finishes_running_execute():
    proc = ExecutorProcess("--shutdown-grace-s", "10")
    try:
        with ExecutorClient(proc.address) as c:
            s = c.create_session()
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                started = threading.Event()
                fut = pool.submit(s.execute, "import time\nprint('x')\ntime.sleep(2)\n'finished'",
                                  on_output=lambda *_: started.set())
                assert started.wait(10)
                import signal
                proc.proc.send_signal(signal.SIGTERM)
                time.sleep(0.3)
                # Draining: probes see NOT_SERVING, new sessions are refused, the running one finishes.
                assert not c.health()
                with pytest.raises(ExecutorUnavailable) as refused:
                    c.create_session()
                assert refused.value.reason == "SHUTTING_DOWN", (refused.value, proc.log())
                assert fut.result(timeout=20).value.python() == "finished"
        assert proc.proc.wait(20) == 0
    finally:
        proc.stop()


def test_back_to_back_executes_never_find_the_session_busy(session):
    # The result must reach the client only after the session is free again, or a client
    # that sends its next execute at once races the server's bookkeeping.
    for i in range(200):
        assert session.execute(f"{i} * 2").value.python() == i * 2
        assert session.execute_unary(f"{i} + 1").value.python() == i + 1


def test_output_streams_while_the_code_is_still_running(session):
    # A print followed by a quiet stretch must reach the client before the execute ends.
    got = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(session.execute, "import time\nprint('working...')\ntime.sleep(3)\n'done'",
                          on_output=lambda stream, text: got.set())
        assert got.wait(2.5), "output was held back until the end of the execute"
        assert not fut.done()
        assert fut.result(timeout=30).value.python() == "done"
