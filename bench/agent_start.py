"""Agent start → first execute, embedded vs docker, for `make bench` (the figure behind the
default executor choice in agent/executor_conn.py `choose_default`).

From constructing a CodeAgent to the result of its first execute: the executor starting
(an embedded `python -m executor`, or the hardened container and its forwarder through the
Docker SDK), the session, the first execute. Each run starts from nothing (the shared
container is removed between runs); the two kinds are interleaved so load drifts hit both.

    python -m bench.agent_start
"""
from __future__ import annotations

import json
import statistics
import sys
import time

from agent import CodeAgent
from agent.models.base import ChatMessage, Model
from sandcell import launcher

__all__ = ["measure", "start_to_first_execute"]


class _NoModel(Model):
    """Never called: the measurement ends before the model's first turn."""

    def _generate(self, *args, **kwargs) -> ChatMessage:
        raise AssertionError("not used by this measurement")


def start_to_first_execute(kind: str) -> float:
    """Seconds from CodeAgent(executor=kind) to its first execute's result."""
    t0 = time.perf_counter()
    agent = CodeAgent([], _NoModel("none"), executor=kind)
    try:
        result, _ = agent.execute("1 + 1")
        took = time.perf_counter() - t0
        if not result.ok:
            raise RuntimeError(f"first execute failed: {result}")
        return took
    finally:
        agent.close()
        launcher.stop_shared()  # the next docker run starts a container again


def measure(runs: int = 3) -> dict:
    times: dict[str, list[float]] = {"embedded": [], "docker": []}
    for _ in range(runs):
        times["embedded"].append(start_to_first_execute("local"))
        times["docker"].append(start_to_first_execute("docker"))
    embedded, docker = (statistics.median(times[k]) for k in ("embedded", "docker"))
    return {"embedded_s_p50": round(embedded, 2), "docker_s_p50": round(docker, 2),
            "docker_vs_embedded": round(docker / embedded, 1), "runs": runs, "image": launcher.default_image()}


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 3), indent=2))
