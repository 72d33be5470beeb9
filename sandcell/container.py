"""The executor's Docker stack (docker/compose.yaml) seen from the host: find a compose
project's containers, wait until Docker reports them healthy, run commands inside.

Used by `make run` (`python -m sandcell.container wait PROJECT`), the container tests and
the benchmark. It reads containers by compose's labels, so it works with compose v1 and v2.

    python -m sandcell.container wait sandcell --timeout-s 120
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

__all__ = ["compose_command", "run_compose", "Stack", "SERVICES"]

SERVICES = ("executor", "forwarder")


def compose_command() -> list[str]:
    """`docker compose` (the v2 plugin) where the engine has it, else `docker-compose` (v1)."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise RuntimeError("neither `docker compose` nor `docker-compose` is installed (.ci/run installs it)")


def run_compose(compose_dir: str, project: str, *args: str, env: dict | None = None,
                files: tuple[str, ...] = ("compose.yaml",), timeout_s: float = 300) -> None:
    """compose -f FILES -p PROJECT ARGS, run from compose_dir: compose v1 reads the
    `seccomp:` profile path relative to the working directory."""
    argv = compose_command() + [a for f in files for a in ("-f", f)] + ["-p", project, *args]
    out = subprocess.run(argv, cwd=compose_dir, env={**os.environ, **(env or {})}, capture_output=True,
                         text=True, timeout=timeout_s)
    if out.returncode:
        raise RuntimeError(f"{' '.join(argv)}: {out.stderr.strip()}")


def _docker(*args: str, timeout_s: float = 60) -> str:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout_s)
    if out.returncode:
        raise RuntimeError(f"docker {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


class Stack:
    """The containers of one compose project."""

    def __init__(self, project: str):
        self.project = project

    def container(self, service: str) -> str:
        """The id of the service's container (running or not)."""
        ids = _docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}",
                      "--filter", f"label=com.docker.compose.service={service}").split()
        if len(ids) != 1:
            raise LookupError(f"project {self.project!r}: {len(ids)} containers for service {service!r}")
        return ids[0]

    def inspect(self, service: str) -> dict:
        return json.loads(_docker("inspect", self.container(service)))[0]

    def health(self, service: str) -> str:
        """Docker's health status: starting, healthy, unhealthy; or the state if not running."""
        state = self.inspect(service)["State"]
        if not state.get("Running"):
            return state.get("Status", "unknown")
        return (state.get("Health") or {}).get("Status", "no healthcheck")

    def wait_healthy(self, services=SERVICES, timeout_s: float = 120.0, poll_s: float = 0.1) -> float:
        """Seconds until every service is healthy; raises TimeoutError with their logs if not."""
        t0 = time.monotonic()
        pending = list(services)
        while pending:
            pending = [s for s in pending if self._health_or_none(s) != "healthy"]
            if not pending:
                break
            if time.monotonic() - t0 > timeout_s:
                logs = {s: self.logs(s, tail=30) for s in pending}
                raise TimeoutError(f"not healthy after {timeout_s:.0f} s: {pending}\n" +
                                   "\n".join(f"--- {s}\n{text}" for s, text in logs.items()))
            time.sleep(poll_s)
        return time.monotonic() - t0

    def _health_or_none(self, service: str) -> str | None:
        try:
            return self.health(service)
        except (LookupError, RuntimeError):  # not created yet
            return None

    def exec(self, service: str, *argv: str, timeout_s: float = 60, check: bool = False) -> subprocess.CompletedProcess:
        """Run argv inside the service's container, as the container's user."""
        return subprocess.run(["docker", "exec", self.container(service), *argv], capture_output=True,
                              text=True, timeout=timeout_s, check=check)

    def logs(self, service: str, tail: int = 50) -> str:
        out = subprocess.run(["docker", "logs", "--tail", str(tail), self.container(service)],
                             capture_output=True, text=True, timeout=30)
        return out.stdout + out.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandcell.container", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    wait = sub.add_parser("wait", help="wait until the project's services are healthy")
    wait.add_argument("project")
    wait.add_argument("--timeout-s", type=float, default=120.0)
    args = parser.parse_args(argv)
    try:
        took = Stack(args.project).wait_healthy(timeout_s=args.timeout_s)
    except TimeoutError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{args.project}: {', '.join(SERVICES)} healthy after {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
