"""Container figures for `make bench`: the image's size and the stack's cold start.

Cold start is `compose up` of docker/compose.yaml (networks, both containers) until the
executor answers a gRPC health check through the published port ("serving"), and until
Docker itself reports both services healthy ("healthy"; its probes run every 5 s, so this
one is coarse). Each run is a fresh project, torn down afterwards.
"""
from __future__ import annotations

import os
import socket
import statistics
import time
from pathlib import Path

from sandcell.client import ExecutorClient
from sandcell.container import Stack, docker_client, require_image, run_compose

__all__ = ["measure"]

IMAGE = os.environ.get("SANDCELL_IMAGE", "sandcell-executor:latest")
DOCKER_DIR = str(Path(__file__).resolve().parents[1] / "docker")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _image_size_mib() -> float:
    return require_image(docker_client(), IMAGE).attrs["Size"] / (1 << 20)  # ImageNotFound says how to build it


def _serving(address: str) -> bool:
    try:
        with ExecutorClient(address, timeout_s=1) as c:
            return c.health()
    except Exception:
        return False


def cold_start(run: int, timeout_s: float = 120) -> tuple[float, float]:
    """(seconds to serving, seconds to Docker-healthy) for one fresh stack."""
    port = _free_port()
    project = f"sandcellbench{os.getpid()}x{run}"
    env = {"SANDCELL_IMAGE": IMAGE, "SANDCELL_PUBLISH_PORT": str(port), "SANDCELL_LOG_LEVEL": "WARNING"}
    t0 = time.monotonic()
    try:
        run_compose(DOCKER_DIR, project, "up", "-d", env=env)
        while not _serving(f"127.0.0.1:{port}"):
            if time.monotonic() - t0 > timeout_s:
                raise TimeoutError(f"the stack did not serve within {timeout_s:.0f} s")
            time.sleep(0.02)
        serving = time.monotonic() - t0
        Stack(project).wait_healthy(timeout_s=timeout_s, poll_s=0.05)
        return serving, time.monotonic() - t0
    finally:
        run_compose(DOCKER_DIR, project, "down", "-v", "--remove-orphans", env=env)


def _runsc_registered() -> bool:
    return "runsc" in (docker_client().info().get("Runtimes") or {})


def _memory_bytes(container) -> int:
    """The container's memory use as its cgroup counts it (the whole sandbox, under gVisor)."""
    return int(container.stats(stream=False)["memory_stats"]["usage"])


def runtime_costs(runtime: str, rounds: int = 300, idle: int = 20, timeout_s: float = 120) -> dict:
    """Create p50, execute p50 and the memory of an idle session with the executor under
    `runtime` (runc or runsc), through the compose stack's published port."""
    port = _free_port()
    project = f"sandcellbench{os.getpid()}{runtime}"
    env = {"SANDCELL_IMAGE": IMAGE, "SANDCELL_PUBLISH_PORT": str(port), "SANDCELL_LOG_LEVEL": "WARNING",
           "SANDCELL_DOCKER_RUNTIME": runtime}
    address = f"127.0.0.1:{port}"
    try:
        run_compose(DOCKER_DIR, project, "up", "-d", env=env)
        t0 = time.monotonic()
        while not _serving(address):
            if time.monotonic() - t0 > timeout_s:
                raise TimeoutError(f"the {runtime} stack did not serve within {timeout_s:.0f} s")
            time.sleep(0.05)
        container = Stack(project).container("executor")
        with ExecutorClient(address, timeout_s=60) as client:
            session = client.create_session()
            session.execute("v = 0")
            execute = []
            for _ in range(rounds):
                t = time.perf_counter()
                session.execute_unary("v = v + 1\nv")
                execute.append((time.perf_counter() - t) * 1e3)
            time.sleep(1)
            before = _memory_bytes(container)
            create, held = [], []
            for _ in range(idle):
                t = time.perf_counter()
                held.append(client.create_session())
                create.append((time.perf_counter() - t) * 1e3)
            for s in held:
                s.execute_unary("x = 1")
            time.sleep(1)
            per_session = (_memory_bytes(container) - before) / idle
        return {"execute_p50_ms": round(statistics.median(execute), 3),
                "create_p50_ms": round(statistics.median(create), 2),
                "idle_session_mib": round(per_session / (1 << 20), 2)}
    finally:
        run_compose(DOCKER_DIR, project, "down", "-v", "--remove-orphans", env=env)


def measure(runs: int = 3) -> dict:
    size = _image_size_mib()
    starts = [cold_start(i) for i in range(runs)]
    return {
        "image": IMAGE,
        "image_size_mib": round(size, 1),
        "cold_start_to_serving_s_p50": round(statistics.median(s for s, _ in starts), 2),
        "cold_start_to_healthy_s_p50": round(statistics.median(h for _, h in starts), 2),
        "cold_start_runs": runs,
        # the executor under runc vs gVisor, same run (README "Under gVisor")
        "runtimes": {rt: runtime_costs(rt) for rt in ("runc", "runsc") if rt == "runc" or _runsc_registered()},
    }
