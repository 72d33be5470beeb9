"""Execute p50 through a forwarding hop vs direct, same run (executor/routing.py).

Two local replicas (ids are their ports; `127.0.0.1:{replica}` reaches one): one session,
executed on interleaved through a connection to its owner and through one to the other
replica, which forwards each call (unary and stream) to the owner.

    python -m bench.routing
"""
from __future__ import annotations

import json
import statistics

from bench.measure import interleave
from executor.routing import owner_of
from sandcell.client import ExecutorClient
from sandcell.local import ExecutorProcess, free_ports

__all__ = ["measure_routing"]


def measure_routing(rounds: int = 1000) -> dict:
    ports = free_ports(2)
    peers = ",".join(f"127.0.0.1:{p}" for p in ports)
    procs = [ExecutorProcess("--port", str(p), "--replica-id", str(p), "--peers", peers, "--peer-address-template",
                             "127.0.0.1:{replica}", "--log-level", "WARNING") for p in ports]
    try:
        with ExecutorClient(procs[0].address, timeout_s=60) as a, ExecutorClient(procs[1].address, timeout_s=60) as b:
            session = a.create_session()
            direct, hop = (a, b) if owner_of(session.id) == str(ports[0]) else (b, a)
            session.execute("v = 0")
            times = interleave({
                "direct_unary": lambda: direct.execute_unary(session.id, "v = v + 1\nv"),
                "forwarded_unary": lambda: hop.execute_unary(session.id, "v = v + 1\nv"),
                "direct_stream": lambda: direct.execute(session.id, "v = v + 1\nv"),
                "forwarded_stream": lambda: hop.execute(session.id, "v = v + 1\nv"),
            }, rounds, warmup=100)
            session.close()
    finally:
        for p in procs:
            p.stop()
    p50 = {name: statistics.median(t) for name, t in times.items()}
    return {**{f"{k}_p50_ms": round(v, 3) for k, v in p50.items()},
            "forwarded_vs_direct_unary": round(p50["forwarded_unary"] / p50["direct_unary"], 2),
            "forwarded_vs_direct_stream": round(p50["forwarded_stream"] / p50["direct_stream"], 2),
            "rounds": rounds}


if __name__ == "__main__":
    print(json.dumps(measure_routing(rounds=300), indent=2))
