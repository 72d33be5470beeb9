"""The smallest worker hop this machine allows, as a baseline for "execute ÷ echo".

A bare gRPC server (same grpcio, same thread-pool server, its own process like the executor)
answers ExecuteUnary by sending one frame (executor.ipc) to a forked process that answers at
once with a canned result, and serves Health.Check beside it. No sessions, no policy, no
checks, no checkpoint: only the process hop that any design running code outside the server
process pays. Its execute ÷ echo is the floor under ours on the same machine.

    python -m bench.floor         # measures and prints the floor
    python -m bench.floor serve   # the server half, used by measure_floor(); prints its port
"""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from executor import ipc
from sandcell.executor.v1 import executor_pb2 as pb
from sandcell.executor.v1 import executor_pb2_grpc as pb_grpc

__all__ = ["measure_floor"]

# What our worker answers for `v = v + 1\nv`, so the frames are the same size.
_RESULT = {"op": "result", "status": "ok", "value": {"type_name": "int", "json": "5", "repr": "5",
                                                      "repr_truncated": False},
           "is_final_answer": False, "error": None, "output_truncated": False, "message": "",
           "wall_time_us": 40, "cpu_time_us": 40, "peak_memory_bytes": 12345678}


def _trivial_worker(chan: socket.socket) -> None:
    reader = ipc.FrameReader(chan)
    while True:
        try:
            reader.recv()
        except (ipc.ChannelClosed, OSError):
            os._exit(0)
        ipc.send(chan, _RESULT)


class _Forwarder(pb_grpc.ExecutorServiceServicer):
    def __init__(self, chan: socket.socket):
        self.chan = chan
        self.reader = ipc.FrameReader(chan)

    def ExecuteUnary(self, request, context):
        ipc.send(self.chan, {"op": "exec", "code": request.start.code})
        msg = self.reader.recv(deadline=time.monotonic() + 10)
        return pb.ExecuteUnaryResponse(result=pb.ExecuteResult(
            status=pb.EXECUTE_STATUS_OK, value=pb.Value(**msg["value"]), wall_time_us=msg["wall_time_us"],
            cpu_time_us=msg["cpu_time_us"], peak_memory_bytes=msg["peak_memory_bytes"]))


def _serve() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.fork() == 0:  # before gRPC starts any thread
        ours.close()
        _trivial_worker(theirs)
    theirs.close()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    pb_grpc.add_ExecutorServiceServicer_to_server(_Forwarder(ours), server)
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()  # until the bench closes our stdin
    server.stop(0)


def measure_floor(rounds: int = 2000, warmup: int = 200) -> dict:
    """Interleaved p50s of Health.Check and the forwarded ExecuteUnary, from this process."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.floor", "serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            execute = pb_grpc.ExecutorServiceStub(channel).ExecuteUnary
            check = health_pb2_grpc.HealthStub(channel).Check
            request = pb.ExecuteUnaryRequest(start=pb.ExecuteStart(session_id="floor", code="v = v + 1\nv"))
            probe = health_pb2.HealthCheckRequest()
            echo_ms: list[float] = []
            hop_ms: list[float] = []
            for i in range(warmup + rounds):
                t0 = time.perf_counter_ns()
                check(probe)
                t1 = time.perf_counter_ns()
                execute(request)
                t2 = time.perf_counter_ns()
                if i >= warmup:
                    echo_ms.append((t1 - t0) / 1e6)
                    hop_ms.append((t2 - t1) / 1e6)
    finally:
        proc.stdin.close()
        proc.wait(10)
    echo, hop = statistics.median(echo_ms), statistics.median(hop_ms)
    return {"echo_p50_ms": echo, "execute_p50_ms": hop, "ratio": hop / echo}


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        _serve()
    else:
        f = measure_floor()
        print(f"echo p50 {f['echo_p50_ms']:.3f} ms, bare hop p50 {f['execute_p50_ms']:.3f} ms, "
              f"floor {f['ratio']:.2f}×")
