"""Compose stacks of the executor image as pytest fixtures (pytest-docker); a plugin
registered by tests/conftest.py, so the API suite's docker target can use them too.

Two projects, because the import ceiling is server-wide:
* `docker_executor` (tests/conftest.py): the API suite's docker target, configured like the
  local test server;
* `hardened_stack`: sessions may import os, socket, threading and ctypes, so the container
  layer can be probed from inside a session with the policy out of the way. It also takes
  the disruptive tests (bombs, a killed container), away from the API suite's stack.
"""
from __future__ import annotations

import os
import shlex
import socket
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_docker.plugin import Services, get_docker_services

from sandcell.client import ExecutorClient
from sandcell.container import Stack, compose_command

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("SANDCELL_IMAGE", "sandcell-executor:latest")
# The file users run, alone: server settings reach it from the environment as they would for an operator.
COMPOSE_FILES = [str(ROOT / "docker" / "compose.yaml")]
HARDENING_CEILING = "os,socket,threading,ctypes"
# The executor container's OCI runtime: runc, or runsc (gVisor); `make test` runs this suite under both.
RUNTIME = os.environ.get("SANDCELL_DOCKER_RUNTIME", "runc")


@dataclass(frozen=True)
class RunningStack:
    stack: Stack          # containers, health, exec
    address: str          # host:port published by the forwarder
    services: Services    # pytest-docker's handle on the project


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serving(address: str) -> bool:
    with ExecutorClient(address, timeout_s=3) as c:
        try:
            return c.health()
        except Exception:
            return False


@pytest.fixture(scope="session")
def executor_image() -> str:
    """The image, built if needed (`make image`; cached layers make that quick when nothing changed)."""
    subprocess.run(["make", "-s", "image", f"IMAGE={IMAGE}"], cwd=ROOT, check=True, timeout=1500)
    return IMAGE


@contextmanager
def compose_stack(name: str, import_ceiling: str, max_sessions: int = 100, tokens_file: str = "",
                  extra_files: tuple[str, ...] = ()):
    """docker/compose.yaml as project sandcelltest<pid><name> on a free host port, healthy.
    `tokens_file`: tenants from this credentials file, mounted as a secret (docker/compose.tenants.yaml).
    `extra_files`: more overrides, named relative to tests/docker/."""
    port = _free_port()
    env = {"SANDCELL_IMAGE": IMAGE, "SANDCELL_PUBLISH_PORT": str(port), "SANDCELL_LOG_LEVEL": "WARNING",
           "SANDCELL_IMPORT_CEILING": import_ceiling, "SANDCELL_MAX_SESSIONS": str(max_sessions),
           "SANDCELL_DOCKER_RUNTIME": RUNTIME}
    files = COMPOSE_FILES
    if tokens_file:
        env["SANDCELL_CREDENTIALS"] = tokens_file
        files = [*COMPOSE_FILES, str(ROOT / "docker" / "compose.tenants.yaml")]
    # pytest-docker runs this through a shell. From docker/: compose v1 reads the seccomp
    # profile relative to the working directory.
    command = (f"cd {shlex.quote(str(ROOT / 'docker'))} && env "
               + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shlex.join(compose_command()))
    project = f"sandcelltest{os.getpid()}{name}{RUNTIME}"
    files = [*files, *(str(Path(__file__).with_name(f)) for f in extra_files)]
    with get_docker_services(command, files, project, ["up -d"], ["down -v --remove-orphans"]) as services:
        stack = Stack(project)
        stack.wait_healthy(timeout_s=120)  # Docker's own verdict, from the image's health command
        address = f"127.0.0.1:{port}"
        services.wait_until_responsive(lambda: _serving(address), timeout=30, pause=0.2)  # and through the port
        yield RunningStack(stack, address, services)


@pytest.fixture(scope="session")
def hardened_stack(executor_image):
    with compose_stack("hardening", HARDENING_CEILING) as running:
        yield running
