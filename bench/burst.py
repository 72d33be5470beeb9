"""A burst of 4 x max-concurrent-executes callers, each on its own session, all at once:
executes/s, latency p50/p99, and errors (target 0: the short wait queue in
executor/admission.py absorbs the burst instead of answering TOO_MANY_EXECUTES).

    python -m bench.burst [--seconds S]
"""
from __future__ import annotations

import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sandcell.client import ExecutorClient, SandcellError
from sandcell.local import ExecutorProcess

__all__ = ["measure_burst"]

SLOTS = 16  # the server's default --max-concurrent-executes


def measure_burst(seconds: float = 5.0, slots: int = SLOTS, factor: int = 4) -> dict:
    callers = slots * factor
    with ExecutorProcess("--max-sessions", str(callers + 4), "--max-concurrent-executes", str(slots),
                         "--log-level", "WARNING") as proc, \
            ExecutorClient(proc.address, timeout_s=120) as client:
        sessions = [client.create_session() for _ in range(callers)]
        for s in sessions:
            s.execute("1")  # warm: the first execute reads the worker's ready
        barrier = threading.Barrier(callers)
        errors: dict[str, int] = {}
        lock = threading.Lock()

        def caller(s) -> list[float]:
            took = []
            barrier.wait()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                t = time.perf_counter()
                try:
                    s.execute_unary("x = 1")
                except SandcellError as err:
                    with lock:
                        errors[err.reason or type(err).__name__] = errors.get(err.reason or type(err).__name__, 0) + 1
                    continue
                took.append(time.perf_counter() - t)
            return took

        started = time.monotonic()
        with ThreadPoolExecutor(callers) as pool:
            per_caller = list(pool.map(caller, sessions))
        elapsed = time.monotonic() - started
        samples = [t * 1000 for took in per_caller for t in took]
    cuts = statistics.quantiles(samples, n=100) if len(samples) > 1 else samples * 99
    return {"callers": callers, "slots": slots, "executes_per_s": round(len(samples) / elapsed, 1),
            "p50_ms": round(cuts[49], 3), "p99_ms": round(cuts[98], 3),
            "errors": sum(errors.values()), "errors_by_reason": errors}


if __name__ == "__main__":
    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 5.0
    print(measure_burst(seconds))
