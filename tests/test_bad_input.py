"""Inputs a caller can get wrong: each is refused with a documented status and ErrorInfo
reason (never UNKNOWN/INTERNAL), echoes of the caller's strings stay bounded, and the server
refuses settings it cannot work with at start, instead of failing later."""
from __future__ import annotations

import logging
import resource
import subprocess
import sys
from concurrent import futures

import grpc
import pytest

from executor.floors import FLOORS
from sandcell.client import InvalidArgument, Limits, SessionNotFound
from sandcell.executor.v1 import executor_pb2 as pb
from sandcell.executor.v1 import executor_pb2_grpc as pb_grpc


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_every_limit_has_a_floor_checked_at_create(client, name):
    floor = FLOORS[name][0]
    with pytest.raises(InvalidArgument) as info:
        client.create_session(limits=Limits(**{name: floor - 1}))
    assert info.value.reason == "INVALID_ARGUMENT"
    assert info.value.metadata.get("field") == f"limits.{name}"
    assert name in info.value.message and str(floor) in info.value.message


def test_a_session_at_every_floor_works(client, service_intact):
    """At the floors (open_files 8: below 6 the worker could not even start) a session runs
    code, comes back from a kill, and releases its slot."""
    limits = Limits(**{name: FLOORS[name][0] for name in FLOORS if name not in ("idle_ttl_ms", "max_lifetime_ms")})
    with client.create_session(limits=limits) as s:
        assert s.execute("x = [1, 2]\nlen(x)").value.python() == 2
        r = s.execute("f = open('a.txt', 'w')\nf.write('hi')\nf.close()\nopen('a.txt').read()")
        assert r.ok and r.value.python() == "hi", r


def test_a_deeply_nested_tool_schema_is_invalid_argument(client, service_intact):
    from sandcell.client.errors import from_rpc_error
    deep = "[" * 100_000 + "]" * 100_000  # valid JSON, too deep for the server's parser
    request = pb.CreateSessionRequest(tools=[pb.ToolSignature(name="t", parameters_json_schema=deep)])
    with pytest.raises(grpc.RpcError) as info:
        pb_grpc.ExecutorServiceStub(client._channel).CreateSession(request, timeout=30)
    err = from_rpc_error(info.value)
    assert isinstance(err, InvalidArgument), err
    assert err.metadata.get("field") == "tools.parameters_json_schema"


def test_invalid_utf8_in_a_request_is_invalid_argument(client, service_intact):
    raw = bytes([0x0A, 2, 0xFF, 0xFE])  # GetSessionRequest.session_id = b"\xff\xfe"
    call = client._channel.unary_unary(f"/{pb.DESCRIPTOR.services_by_name['ExecutorService'].full_name}/GetSession",
                                       request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as info:
        call(raw, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    assert "UTF-8" in info.value.details()


@pytest.mark.parametrize("method", ["get", "close", "execute"])
def test_a_huge_session_id_is_not_found_with_a_bounded_echo(client, service_intact, method):
    sid = "a" * 100_000
    call = {"get": lambda: client.get_session(sid), "close": lambda: client.close_session(sid),
            "execute": lambda: client.execute_unary(sid, "1")}[method]
    with pytest.raises(SessionNotFound) as info:
        call()
    assert info.value.reason == "SESSION_NOT_FOUND"
    assert len(info.value.message) < 400 and len(info.value.metadata["session_id"]) < 100


def _start(*flags, nofile=None) -> subprocess.CompletedProcess:
    def limit():
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
    return subprocess.run([sys.executable, "-m", "executor", "--port", "0", *flags], preexec_fn=limit,
                          capture_output=True, text=True, timeout=60)


def test_settings_below_a_floor_refuse_to_start():
    done = _start("--open-files", "3")
    assert done.returncode == 2
    assert "--open-files" in done.stderr and "floor of 8" in done.stderr and "Traceback" not in done.stderr


def test_max_sessions_beyond_the_descriptor_budget_refuses_to_start():
    done = _start("--max-sessions", "100", nofile=(300, 300))
    assert done.returncode == 2
    assert "--max-sessions=100" in done.stderr and "open files" in done.stderr and "Traceback" not in done.stderr


def test_the_soft_descriptor_limit_is_raised_at_start():
    """With a soft limit of 256 (hard 4096) the server raises it, so 150 sessions fit, where
    create number ~122 used to fail with "Too many open files"."""
    from sandcell.client import ExecutorClient
    from sandcell.local import ExecutorProcess
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.fail(f"this machine's hard RLIMIT_NOFILE ({hard}) is below what the test needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        proc = ExecutorProcess("--max-sessions", "150", "--log-json", "false")  # inherits soft 256
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        limits = open(f"/proc/{proc.pid}/limits").read()
        line = next(ln for ln in limits.splitlines() if ln.startswith("Max open files"))
        assert line.split()[3] == line.split()[4], line  # soft == hard
        with ExecutorClient(proc.address) as c:
            sessions = [c.create_session() for _ in range(130)]
            assert sessions[-1].execute("1 + 1").value.python() == 2
    finally:
        proc.stop()


class _Broken(pb_grpc.ExecutorServiceServicer):
    def GetSession(self, request, context):
        raise RuntimeError("a bug with a secret in its text")


def test_an_unexpected_handler_error_is_internal_with_a_request_id_logged_once(caplog):
    """A real gRPC server on a loopback port whose handler has a bug (this servicer raises on
    purpose): the caller gets INTERNAL with a request id, not the exception's text, and the
    server logs it once with the same id."""
    from executor.rpc_guard import GuardInterceptor
    from executor.server import SERVICE_NAME
    from sandcell.client.errors import from_rpc_error
    server = grpc.server(futures.ThreadPoolExecutor(2), interceptors=[GuardInterceptor(SERVICE_NAME)])
    pb_grpc.add_ExecutorServiceServicer_to_server(_Broken(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel, caplog.at_level(logging.ERROR):
            with pytest.raises(grpc.RpcError) as info:
                pb_grpc.ExecutorServiceStub(channel).GetSession(pb.GetSessionRequest(session_id="x"), timeout=10)
    finally:
        server.stop(None)
    err = from_rpc_error(info.value)
    assert info.value.code() == grpc.StatusCode.INTERNAL and err.reason == "INTERNAL"
    request_id = err.metadata["request_id"]
    assert request_id in err.message and "secret" not in err.message
    ours = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    assert len(ours) == 1 and ours[0].exc_info is not None


def test_a_checkpoint_over_the_file_size_limit_is_said_in_results(client, service_intact):
    """file_size_bytes also bounds the session's checkpoint: the execute whose state does not
    fit says so (checkpoint_error), and the restore after a kill says which state came back."""
    with client.create_session(limits=Limits(file_size_bytes=65536, wall_timeout_ms=300)) as s:
        assert s.execute("small = 1").checkpoint_error == ""
        r = s.execute("data = list(range(50_000))\nlen(data)")
        assert r.ok and "could not be checkpointed" in r.checkpoint_error, r
        killed = s.execute("while True:\n    try:\n        while True:\n            pass\n"
                           "    except BaseException:\n        pass")
        assert killed.status == "timeout" and killed.restored, killed
        assert "from before the last 1 execute" in killed.message, killed.message
        after = s.execute("small")
        assert after.ok and after.value.python() == 1
        assert s.execute("data").error.type == "NameError"
