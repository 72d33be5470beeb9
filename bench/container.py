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


def measure(runs: int = 3) -> dict:
    size = _image_size_mib()
    starts = [cold_start(i) for i in range(runs)]
    return {
        "image": IMAGE,
        "image_size_mib": round(size, 1),
        "cold_start_to_serving_s_p50": round(statistics.median(s for s, _ in starts), 2),
        "cold_start_to_healthy_s_p50": round(statistics.median(h for _, h in starts), 2),
        "cold_start_runs": runs,
    }
