"""The executor's containers seen from the host, through the Docker SDK (`docker` on PyPI):
connect to the engine with clear errors, find a compose project's containers, wait until
Docker reports them healthy, run commands inside.

Used by `make run` (`python -m sandcell.container wait PROJECT`), the launcher
(sandcell/launcher.py), the container tests and the benchmark. Compose itself has no SDK:
`run_compose` drives its CLI; everything else reads the engine's API. Containers are found by
compose's labels, so this works with compose v1 and v2.

    python -m sandcell.container wait sandcell --timeout-s 120
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time

__all__ = ["compose_command", "run_compose", "Stack", "SERVICES", "docker_client", "require_image",
           "ContainerError", "DockerUnavailable", "ImageNotFound", "ContainerStartError"]

SERVICES = ("executor", "forwarder")
BUILD_HINT = "make image IMAGE={image}"


class ContainerError(RuntimeError):
    """Base for failures to reach Docker or to start the executor's containers."""


class DockerUnavailable(ContainerError):
    """No Docker engine answers (not installed, not running, or no permission on its socket)."""


class ImageNotFound(ContainerError):
    """The executor image is not in the local engine; the message says how to build it."""


class ContainerStartError(ContainerError):
    """The containers were created but did not come up serving; the message carries their logs."""


def _sdk():
    try:
        import docker
    except ImportError:
        docker = None
    # In a checkout, the repository's docker/ directory imports as a namespace package when the SDK is missing.
    if not hasattr(docker, "from_env"):
        raise DockerUnavailable("the Docker SDK for Python is not installed: pip install 'sandcell[agent]' "
                                "(or 'docker>=7.1')")
    return docker


def docker_client(timeout_s: float = 60):
    """A client for the engine named by $DOCKER_HOST (default: the local socket), checked with a
    ping, so a stopped engine is reported here, in words, and not at the first real call."""
    docker = _sdk()
    try:
        client = docker.from_env(timeout=int(timeout_s))
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise DockerUnavailable(
            f"Docker is not reachable at {where} ({exc}). Start the engine (e.g. `sudo systemctl start docker`) "
            "and make sure this user may use it (the `docker` group), or use the embedded executor "
            "(executor=\"local\")") from None


def require_image(client, image: str):
    """The image, or ImageNotFound naming the command that builds it."""
    docker = _sdk()
    try:
        return client.images.get(image)
    except docker.errors.ImageNotFound:
        raise ImageNotFound(f"the executor image {image!r} is not built: run `{BUILD_HINT.format(image=image)}` "
                            "in a sandcell checkout") from None


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


def exec_in(container, argv: list[str] | tuple[str, ...], timeout_s: float = 60,
            check: bool = False) -> subprocess.CompletedProcess:
    """Runs argv inside a running container as its user; stdout/stderr as text. Like
    `subprocess.run`, raises TimeoutExpired after timeout_s (the process inside is left to
    finish: Docker has no way to stop one exec) and CalledProcessError with `check`."""
    result: dict = {}

    def run() -> None:
        try:
            result["r"] = container.client.api.exec_create(container.id, list(argv), stdout=True, stderr=True)
            out, err = container.client.api.exec_start(result["r"]["Id"], demux=True)
            result["out"] = (out or b"", err or b"")
        except Exception as exc:  # the container went away under the exec: report like a killed process
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise subprocess.TimeoutExpired(list(argv), timeout_s)
    out, err = result.get("out", (b"", str(result.get("error", "")).encode()))
    code = None
    if "r" in result:
        try:
            code = container.client.api.exec_inspect(result["r"]["Id"]).get("ExitCode")
        except Exception:  # the container is gone, and the exec's record with it
            code = None
    done = subprocess.CompletedProcess(list(argv), 137 if code is None else code,
                                       out.decode(errors="replace"), err.decode(errors="replace"))
    if check:
        done.check_returncode()
    return done


class Stack:
    """The containers of one compose project."""

    def __init__(self, project: str, client=None):
        self.project = project
        self._client = client

    @property
    def client(self):
        if self._client is None:
            self._client = docker_client()
        return self._client

    def container(self, service: str):
        """The service's container (running or not), a docker-py Container."""
        found = self.client.containers.list(all=True, filters={"label": [
            f"com.docker.compose.project={self.project}", f"com.docker.compose.service={service}"]})
        if len(found) != 1:
            raise LookupError(f"project {self.project!r}: {len(found)} containers for service {service!r}")
        return found[0]

    def inspect(self, service: str) -> dict:
        """`docker inspect` of the service's container, as the engine reports it now."""
        return self.container(service).attrs  # a fresh list() reads current attrs

    def network(self, name: str) -> dict:
        """`docker network inspect` of a network, by name or id."""
        return self.client.networks.get(name).attrs

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
        except (LookupError, _sdk().errors.NotFound):  # not created yet, or replaced meanwhile
            return None

    def exec(self, service: str, *argv: str, timeout_s: float = 60, check: bool = False) -> subprocess.CompletedProcess:
        """Run argv inside the service's container, as the container's user."""
        return exec_in(self.container(service), argv, timeout_s=timeout_s, check=check)

    def logs(self, service: str, tail: int = 50) -> str:
        try:
            return self.container(service).logs(tail=tail).decode(errors="replace")
        except LookupError as exc:
            return str(exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandcell.container", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    wait = sub.add_parser("wait", help="wait until the project's services are healthy")
    wait.add_argument("project")
    wait.add_argument("--timeout-s", type=float, default=120.0)
    args = parser.parse_args(argv)
    try:
        took = Stack(args.project).wait_healthy(timeout_s=args.timeout_s)
    except (TimeoutError, ContainerError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{args.project}: {', '.join(SERVICES)} healthy after {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
