"""The smallest worker hop this machine allows, as baselines for "execute ÷ echo".

A bare gRPC server (same grpcio, same thread-pool server, its own process like the executor)
serves Health.Check beside ExecuteUnary, and forwards each ExecuteUnary as one frame
(executor.ipc) to one of two forked processes:

- session "floor": answers at once with a canned result. No sessions, no policy, no checks,
  no checkpoint: only the process hop that any design running code outside the server
  process pays. Its execute ÷ echo is the floor under ours on the same machine.
- session "plain": an unsandboxed executor, as the design's research prototype built one
  (shared/research/perf-scripts/e2e_proto.py): exec and eval the code in a namespace it
  keeps, stdout captured, the value returned; unlike the prototype it compiles a repeated
  cell once, as ours does. No jail, no policy, no limits, no checkpoint, no validation:
  what the execute would cost with no security at all.

    python -m bench.floor         # measures and prints both
    python -m bench.floor serve   # the server half, used by measure_floor(); prints its port
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from bench.measure import interleave
from executor import ipc
from sandcell.executor.v1 import executor_pb2 as pb
from sandcell.executor.v1 import executor_pb2_grpc as pb_grpc

__all__ = ["measure_floor"]

# What our worker answers for `v = v + 1\nv`, so the frames are the same size.
_RESULT = {"op": "result", "status": "ok", "value": {"type_name": "int", "json": "5", "repr": "5",
                                                      "repr_truncated": False},
           "is_final_answer": False, "error": None, "output_truncated": False, "message": "",
           "wall_time_us": 40, "cpu_time_us": 40, "peak_memory_bytes": 12345678}


_compiled: dict[str, tuple] = {}  # code -> (body, last expression): repeated cells compile once, as ours do


def _compile(code: str) -> tuple:
    tree = ast.parse(code)
    last = ast.Expression(tree.body.pop().value) if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    return compile(tree, "<cell>", "exec"), compile(last, "<cell>", "eval") if last else None


def _plain_exec(code: str, ns: dict) -> dict:
    """The research prototype's worker step: the value of the last expression, stdout captured."""
    body, last = _compiled.get(code) or _compiled.setdefault(code, _compile(code))
    with contextlib.redirect_stdout(io.StringIO()):
        exec(body, ns)
        value = eval(last, ns) if last else None
    return {**_RESULT, "value": {"type_name": type(value).__name__, "json": json.dumps(value),
                                 "repr": repr(value), "repr_truncated": False}}


def _worker(chan: socket.socket, run_code: bool) -> None:
    reader = ipc.FrameReader(chan)
    ns: dict = {"v": 0}
    while True:
        try:
            msg = reader.recv()
        except (ipc.ChannelClosed, OSError):
            os._exit(0)
        ipc.send(chan, _plain_exec(msg["code"], ns) if run_code else _RESULT)


def _fork_worker(run_code: bool) -> socket.socket:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.fork() == 0:  # before gRPC starts any thread
        ours.close()
        _worker(theirs, run_code)
    theirs.close()
    return ours


class _Forwarder(pb_grpc.ExecutorServiceServicer):
    def __init__(self, chans: dict[str, socket.socket]):
        self.chans = {name: (chan, ipc.FrameReader(chan)) for name, chan in chans.items()}

    def ExecuteUnary(self, request, context):
        chan, reader = self.chans[request.start.session_id]
        ipc.send(chan, {"op": "exec", "code": request.start.code})
        msg = reader.recv(deadline=time.monotonic() + 10)
        return pb.ExecuteUnaryResponse(result=pb.ExecuteResult(
            status=pb.EXECUTE_STATUS_OK, value=pb.Value(**msg["value"]), wall_time_us=msg["wall_time_us"],
            cpu_time_us=msg["cpu_time_us"], peak_memory_bytes=msg["peak_memory_bytes"]))


def _serve() -> None:
    chans = {"floor": _fork_worker(run_code=False), "plain": _fork_worker(run_code=True)}
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    pb_grpc.add_ExecutorServiceServicer_to_server(_Forwarder(chans), server)
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()  # until the bench closes our stdin
    server.stop(0)


def measure_floor(rounds: int = 2000, warmup: int = 200) -> dict:
    """Interleaved p50s of Health.Check and of ExecuteUnary forwarded to each process, from this process."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.floor", "serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            execute = pb_grpc.ExecutorServiceStub(channel).ExecuteUnary
            check = health_pb2_grpc.HealthStub(channel).Check
            probe = health_pb2.HealthCheckRequest()
            calls = {"echo": lambda: check(probe)}
            for name in ("floor", "plain"):
                request = pb.ExecuteUnaryRequest(start=pb.ExecuteStart(session_id=name, code="v = v + 1\nv"))
                calls[name] = lambda request=request: execute(request)
            times = interleave(calls, rounds, warmup)
            value = json.loads(execute(pb.ExecuteUnaryRequest(start=pb.ExecuteStart(
                session_id="plain", code="v"))).result.value.json)
            assert value == warmup + rounds, "the plain executor lost its state"
    finally:
        proc.stdin.close()
        proc.wait(10)
    echo, hop, plain = (statistics.median(times[name]) for name in ("echo", "floor", "plain"))
    return {"echo_p50_ms": echo, "execute_p50_ms": hop, "ratio": hop / echo,
            "plain_execute_p50_ms": plain, "plain_ratio": plain / echo}


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        _serve()
    else:
        f = measure_floor()
        print(f"echo p50 {f['echo_p50_ms']:.3f} ms, bare hop p50 {f['execute_p50_ms']:.3f} ms "
              f"(floor {f['ratio']:.2f}×), unsandboxed executor p50 {f['plain_execute_p50_ms']:.3f} ms "
              f"({f['plain_ratio']:.2f}×)")
