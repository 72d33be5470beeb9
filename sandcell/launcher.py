"""Starts the hardened executor container from Python, through the Docker SDK: what
`executor="docker"` on an agent uses, and usable on its own.

    with DockerExecutor() as ex:                       # image: $SANDCELL_IMAGE or sandcell-executor:latest
        with ExecutorClient(ex.address, token=ex.token) as client: ...

The same arrangement as docker/compose.yaml, built from the one definition of the hardening
(sandcell/hardening.py): the executor on an internal network with no IPv4 gateway (no
egress, not even to the host), a forwarder container (the same image, a stdlib TCP relay) on
that network and an ordinary bridge, publishing one port on 127.0.0.1 that Docker picks
(free by construction: no race with another process choosing the same one). A fresh random
token guards the port, which every local user can reach.

Everything it creates carries the label `dev.sandcell.launcher=<name>` and is removed by
`stop()`: at interpreter exit (atexit, which Ctrl-C reaches too) and, should this process die
without running it (SIGKILL, SIGTERM, a crash), by a small reaper process that waits for
this one's end on a pipe and then removes whatever carries the label.

A second process reuses a running launcher's container when given its address and token:
`ex.client_env()` is {"SANDCELL_EXECUTOR": ..., "SANDCELL_TOKEN": ...}, which agents read.
"""
from __future__ import annotations

import atexit
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from sandcell.client import ExecutorClient
from sandcell.container import ContainerStartError, docker_client, require_image
from sandcell.hardening import EXECUTOR_PORT, HARDENING, Hardening, sdk_run_kwargs

__all__ = ["LaunchConfig", "DockerExecutor", "shared_executor", "stop_shared", "default_image", "LABEL"]

LABEL = "dev.sandcell.launcher"
DEFAULT_IMAGE = "sandcell-executor:latest"


def default_image() -> str:
    return os.environ.get("SANDCELL_IMAGE") or DEFAULT_IMAGE


@dataclass(frozen=True)
class LaunchConfig:
    image: str = field(default_factory=default_image)
    import_ceiling: tuple[str, ...] = ()       # extra modules sessions may ask for (the server's ceiling)
    server_env: tuple[tuple[str, str], ...] = ()  # more SANDCELL_* server settings (README table)
    log_level: str = "WARNING"
    startup_timeout_s: float = 120.0
    hardening: Hardening = HARDENING

    def admits(self, imports: Iterable[str]) -> bool:
        return set(imports) <= set(self.import_ceiling)


class DockerExecutor:
    """The executor and its forwarder as containers of this process; `.address`, `.token`."""

    def __init__(self, config: LaunchConfig | None = None, *, client=None):
        self.config = config or LaunchConfig()
        self.name = f"sandcell-{secrets.token_hex(5)}"
        self.token = secrets.token_urlsafe(24)
        self.address: str | None = None
        self.startup_s: float | None = None
        self._client = client
        self._reaper: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def labels(self) -> dict[str, str]:
        return {LABEL: self.name, f"{LABEL}.pid": str(os.getpid())}

    def start(self) -> "DockerExecutor":
        """Creates the networks and containers, waits until the executor serves through the
        published port. DockerUnavailable / ImageNotFound / ContainerStartError otherwise."""
        t0 = time.monotonic()
        client = self._client = self._client or docker_client()
        cfg, h = self.config, self.config.hardening
        require_image(client, cfg.image)
        self._start_reaper()
        _LIVE.add(self)
        try:
            sandbox = client.networks.create(f"{self.name}_sandbox", driver="bridge", internal=h.network_internal,
                                             options=dict(h.network_driver_opts), labels=self.labels)
            env = {"SANDCELL_TOKEN": self.token, "SANDCELL_LOG_LEVEL": cfg.log_level,
                   "SANDCELL_IMPORT_CEILING": ",".join(cfg.import_ceiling), **dict(cfg.server_env)}
            executor = client.containers.create(
                cfg.image, name=f"{self.name}-executor", network=sandbox.name, environment=env,
                labels=self.labels, **self._common(), **sdk_run_kwargs("executor", h))
            executor.start()  # first: the server boots while the way in is being built
            edge = client.networks.create(f"{self.name}_edge", driver="bridge", labels=self.labels)
            forwarder = client.containers.create(
                cfg.image, name=f"{self.name}-forwarder", network=edge.name, labels=self.labels,
                entrypoint=["python", "/opt/sandcell/forwarder.py", "--listen", f"0.0.0.0:{EXECUTOR_PORT}",
                            "--target", f"{self.name}-executor:{EXECUTOR_PORT}"],
                # Docker picks the host port: free by construction, loopback only
                ports={f"{EXECUTOR_PORT}/tcp": (h.publish_host, None)},
                **self._common(), **sdk_run_kwargs("forwarder", h))
            sandbox.connect(forwarder)
            forwarder.start()
            forwarder.reload()
            port = forwarder.attrs["NetworkSettings"]["Ports"][f"{EXECUTOR_PORT}/tcp"][0]["HostPort"]
            self.address = f"{h.publish_host}:{port}"
            self._wait_serving(executor, forwarder, t0)
        except BaseException:  # Ctrl-C included: nothing half-started stays behind
            self.stop()
            raise
        self.startup_s = time.monotonic() - t0
        return self

    @staticmethod
    def _common() -> dict:
        return {
            # A crashed (or OOM-killed) server comes back, as under compose; unlike compose's
            # unless-stopped, a restarted engine does not revive containers of a process that is gone.
            "restart_policy": {"Name": "on-failure", "MaximumRetryCount": 5},
            "healthcheck": {"test": ["CMD", "sandcell-health", "--address", f"127.0.0.1:{EXECUTOR_PORT}"],
                            "interval": 5_000_000_000, "timeout": 5_000_000_000, "retries": 3,
                            "start_period": 30_000_000_000},
        }

    def _wait_serving(self, executor, forwarder, t0: float) -> None:
        """Until a gRPC health check through the published port answers SERVING: what Docker's
        own probe reports too, but without waiting for its next 5 s tick."""
        deadline = t0 + self.config.startup_timeout_s
        with ExecutorClient(self.address, token=self.token, timeout_s=2) as probe:
            while True:
                try:
                    if probe.health():
                        return
                except Exception:  # not up yet: the forwarder refuses or the server is still starting
                    pass
                for c in (executor, forwarder):
                    c.reload()
                    # a restart before it ever served is a start failure, not a crash to ride out
                    if c.status in ("exited", "dead", "restarting") or c.attrs.get("RestartCount"):
                        raise ContainerStartError(f"{c.name} exited with {c.attrs['State'].get('ExitCode')}:\n"
                                                  + c.logs(tail=40).decode(errors="replace"))
                if time.monotonic() > deadline:
                    raise ContainerStartError(
                        f"the executor did not serve within {self.config.startup_timeout_s:.0f} s; its log:\n"
                        + executor.logs(tail=40).decode(errors="replace"))
                time.sleep(0.05)

    def client_env(self) -> dict[str, str]:
        """What another process needs to use this executor (agents read these variables)."""
        return {"SANDCELL_EXECUTOR": self.address or "", "SANDCELL_TOKEN": self.token}

    def containers(self) -> list:
        client = self._client or docker_client()
        return client.containers.list(all=True, filters={"label": f"{LABEL}={self.name}"})

    def stop(self) -> None:
        """Removes every container and network (and anonymous volume) this launcher made. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            if self._client is not None:
                remove_labelled(self._client, self.name)
        finally:
            _LIVE.discard(self)
            if self._reaper is not None:  # its pipe closes: it finds nothing left and exits
                self._reaper.stdin.close()
                self._reaper.wait(timeout=30)

    def _start_reaper(self) -> None:
        self._reaper = subprocess.Popen(
            [sys.executable, "-m", "sandcell.launcher", "reap", self.name], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)  # not in the terminal's process group: Ctrl-C is for us, not it

    def __enter__(self) -> "DockerExecutor":
        return self if self.address else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"DockerExecutor({self.name!r}, {self.config.image!r}, address={self.address!r})"


def remove_labelled(client, name: str) -> None:
    """Containers first (force: running ones too, v: their anonymous volumes), then networks."""
    for c in client.containers.list(all=True, filters={"label": f"{LABEL}={name}"}):
        try:
            c.remove(force=True, v=True)
        except Exception:  # already gone (another cleanup raced us)
            pass
    for n in client.networks.list(filters={"label": f"{LABEL}={name}"}):
        try:
            n.remove()
        except Exception:
            pass


# ---- one launcher shared by the agents of a process ----
_LIVE: "set[DockerExecutor]" = set()
_SHARED: list[DockerExecutor] = []
_SHARED_LOCK = threading.Lock()


def shared_executor(imports: Iterable[str] = (), image: str | None = None) -> DockerExecutor:
    """A running launcher of this process whose import ceiling admits `imports` (started on
    first use, kept until interpreter exit): agents of one process share one container."""
    imports, image = tuple(sorted(set(imports))), image or default_image()
    with _SHARED_LOCK:
        for ex in _SHARED:
            if ex.config.image == image and ex.config.admits(imports) and not ex._stopped:
                return ex
        ex = DockerExecutor(LaunchConfig(image=image, import_ceiling=imports)).start()
        _SHARED.append(ex)
        return ex


def stop_shared() -> None:
    with _SHARED_LOCK:
        while _SHARED:
            _SHARED.pop().stop()


@atexit.register
def _stop_all() -> None:
    for ex in list(_LIVE):
        try:
            ex.stop()
        except Exception:  # at exit, one failure must not keep the others running; the reaper follows up
            pass


def _reap(name: str) -> int:
    sys.stdin.buffer.read()  # EOF: the launcher's process closed the pipe or is gone
    remove_labelled(docker_client(), name)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "reap":
        sys.exit(_reap(sys.argv[2]))
    print("usage: python -m sandcell.launcher reap NAME  (started by DockerExecutor)", file=sys.stderr)
    sys.exit(2)
