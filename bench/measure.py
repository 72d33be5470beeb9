"""The measurements. Runners are interleaved round by round so machine noise hits all alike."""
from __future__ import annotations

import statistics
import time
from typing import Callable

from grpc_health.v1 import health_pb2, health_pb2_grpc

from sandcell.client import ExecutorClient
from sandcell.executor.v1 import executor_pb2 as pb
from sandcell.executor.v1 import executor_pb2_grpc as pb_grpc

__all__ = ["interleave", "latency", "create_latency", "first_execute_latency", "cpu_ratios", "idle_memory", "CPU_SNIPPETS"]

CPU_SNIPPETS = {
    "loop": "s = 0\nfor i in range(1_000_000):\n    s += i * i\ns",
    "fib": "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nfib(22)",
    "strings": "text = ','.join([f'item{i}' for i in range(100_000)])\nlen(text)",
}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def interleave(runners: dict[str, Callable[[], None]], rounds: int, warmup: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    for i in range(warmup + rounds):
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            t0 = time.perf_counter_ns()
            runners[name]()
            if i >= warmup:
                times[name].append((time.perf_counter_ns() - t0) / 1e6)
    return times


def latency(client: ExecutorClient, rounds: int = 2000) -> dict:
    """Trivial execute round trips on a warm session beside a bare gRPC call on the same server."""
    health = health_pb2_grpc.HealthStub(client._channel)
    request = health_pb2.HealthCheckRequest()
    session = client.create_session()
    session.execute("v = 0")
    # The same unary execute through the generated stub, as the echo is called: the typed
    # client's own share (request building, deadline, result dataclasses) is the difference.
    raw = pb_grpc.ExecutorServiceStub(client._channel).ExecuteUnary
    raw_request = pb.ExecuteUnaryRequest(start=pb.ExecuteStart(session_id=session.id, code="v = v + 1\nv"))
    times = interleave({
        "echo": lambda: health.Check(request),
        "execute_unary": lambda: session.execute_unary("v = v + 1\nv"),
        "execute_stream": lambda: session.execute("v = v + 1\nv"),
        "execute_raw": lambda: raw(raw_request),
    }, rounds, warmup=200)
    expected = 3 * (rounds + 200)
    assert session.execute_unary("v").value.python() == expected, "state drifted during the latency run"
    session.close()
    return {name: {"p50": statistics.median(t), "p99": _pct(t, 0.99)} for name, t in times.items()}


def create_latency(client: ExecutorClient, rounds: int = 200) -> dict:
    created = []
    for _ in range(rounds + 10):
        t0 = time.perf_counter_ns()
        s = client.create_session()
        created.append((time.perf_counter_ns() - t0) / 1e6)
        s.close()
    created = created[10:]
    return {"p50": statistics.median(created), "p99": _pct(created, 0.99)}


def first_execute_latency(client: ExecutorClient, rounds: int = 100) -> dict:
    """The first execute on a new session, sent right after CreateSession returns: it pays
    whatever of the session's setup (jail, policy) the create reply did not wait for."""
    first = []
    for _ in range(rounds + 5):
        s = client.create_session()
        t0 = time.perf_counter_ns()
        s.execute_unary("1")
        first.append((time.perf_counter_ns() - t0) / 1e6)
        s.close()
    first = first[5:]
    return {"p50": statistics.median(first), "p99": _pct(first, 0.99)}


def _plain_exec(code: str) -> Callable[[], None]:
    def run():
        ns: dict = {}
        body, _, last = code.rpartition("\n")
        exec(body, ns)
        eval(last, ns)
    return run


def _smolagents(code: str) -> Callable[[], None]:
    from smolagents.local_python_executor import LocalPythonExecutor
    executor = LocalPythonExecutor(additional_authorized_imports=[])
    executor.send_tools({})
    return lambda: executor(code)


def cpu_ratios(client: ExecutorClient, rounds: int = 15, smol_rounds: int = 3) -> dict:
    """Speed of CPU-bound code in a session (worker-side time) relative to baselines."""
    session = client.create_session()  # the 30 s defaults cover the slowest snippet
    out: dict = {"ours_ms": {}, "exec_ms": {}, "smolagents_ms": {}, "ratio_vs_exec": {}, "ratio_vs_smolagents": {}}
    for name, code in CPU_SNIPPETS.items():
        ours: list[float] = []

        def in_sandbox():
            r = session.execute_unary(code)
            assert r.ok, r
            ours.append(r.wall_time_ms)
        times = interleave({"ours": in_sandbox, "exec": _plain_exec(code)}, rounds, warmup=2)
        smol = interleave({"smolagents": _smolagents(code)}, smol_rounds, warmup=0)["smolagents"]
        ours_ms, exec_ms, smol_ms = statistics.median(ours[2:]), statistics.median(times["exec"]), statistics.median(smol)
        out["ours_ms"][name], out["exec_ms"][name], out["smolagents_ms"][name] = ours_ms, exec_ms, smol_ms
        out["ratio_vs_exec"][name] = exec_ms / ours_ms
        out["ratio_vs_smolagents"][name] = smol_ms / ours_ms
    session.close()
    return out


def idle_memory(client: ExecutorClient, server, count: int = 200) -> dict:
    """Mean unique memory (USS) of idle session workers, each after one small execute."""
    sessions = [client.create_session() for _ in range(count)]
    for s in sessions:
        s.execute_unary("data = [i * i for i in range(100)]\nlabel = 'idle'")
    uss = [w.memory_full_info().uss / (1 << 20) for w in server.session_workers()]
    for s in sessions:
        s.close()
    return {"sessions": len(uss), "uss_mib_mean": statistics.mean(uss), "uss_mib_p50": statistics.median(uss),
            "uss_mib_total": sum(uss)}
