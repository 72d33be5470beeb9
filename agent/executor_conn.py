"""Reaching an executor: a running one by address, the hardened container started through
the Docker SDK (sandcell/launcher.py, shared by the agents of a process), or an embedded
local process we own.

What an agent uses when not given an address ("auto"): see `choose_default`.
"""
from __future__ import annotations

import atexit
import os
import secrets
import weakref
from collections.abc import Sequence

from sandcell import launcher
from sandcell.client import ClientTls, ExecutorClient
from sandcell.container import ContainerError
from sandcell.local import ExecutorProcess

from agent.errors import ExecutorStartError

__all__ = ["ExecutorConnection", "open_executor", "executor_choice", "choose_default", "EXECUTOR_KINDS"]

# What `executor=` / $SANDCELL_EXECUTOR may name besides "host:port". "local" and "docker"
# are also smolagents' `executor_type` values, with the same meaning.
EXECUTOR_KINDS = ("auto", "docker", "local")
# smolagents' other executor types: remote sandboxes this package does not drive.
_FOREIGN_TYPES = ("e2b", "modal", "wasm", "blaxel")

_LIVE: "weakref.WeakSet[ExecutorConnection]" = weakref.WeakSet()


class ExecutorConnection:
    """An ExecutorClient, plus the local executor process when this object started it."""

    def __init__(self, client: ExecutorClient, *, process: ExecutorProcess | None = None,
                 token: str | None = None, launcher: "launcher.DockerExecutor | None" = None):
        self.client = client
        self.address = client.address
        self.process = process
        # the shared container this connection uses (not owned: it lives until interpreter exit)
        self.launcher = launcher
        # kept so that other clients (a CLI, a second agent) can share an embedded executor
        self.token = token
        self._closed = False
        _LIVE.add(self)

    @property
    def owns_process(self) -> bool:
        return self.process is not None

    @classmethod
    def connect(cls, address: str, token: str | None = None, tls: ClientTls | None = None) -> "ExecutorConnection":
        """A running executor at "host:port"; over TLS with `tls` (default: ClientTls.from_env())."""
        return cls(ExecutorClient(address, token=token, tls=tls or ClientTls.from_env()), token=token)

    @classmethod
    def start_local(cls, *flags: str, startup_timeout_s: float = 60.0) -> "ExecutorConnection":
        """Starts `python -m executor` (this interpreter) on a free loopback port, with a fresh
        random token because the port is reachable by other local users. `flags` go to the server.
        The token travels in the environment, not argv: argv is readable by every local user in
        /proc, and a token_urlsafe value may begin with "-", which argparse takes for a flag."""
        token = secrets.token_urlsafe(24)
        try:
            proc = ExecutorProcess(*flags, env={"SANDCELL_TOKEN": token}, timeout_s=startup_timeout_s)
        except Exception as exc:  # RuntimeError with the server log; anything else is a start failure too
            raise ExecutorStartError(f"the embedded local executor did not start: {exc}") from exc
        return cls(ExecutorClient(proc.address.strip(), token=token), process=proc, token=token)

    @classmethod
    def start_docker(cls, imports: Sequence[str] = (), image: str | None = None) -> "ExecutorConnection":
        """The hardened executor container of this process (started on first use, shared by
        every agent whose imports its ceiling admits, removed at interpreter exit). Raises
        DockerUnavailable / ImageNotFound / ContainerStartError (sandcell.container), which say what to do."""
        ex = launcher.shared_executor(imports, image)
        return cls(ExecutorClient(ex.address, token=ex.token), token=ex.token, launcher=ex)

    @property
    def kind(self) -> str:
        return "embedded" if self.process is not None else "docker" if self.launcher is not None else "remote"

    def close(self) -> None:
        """Closes the channel; stops the local process (SIGTERM: it closes its sessions) if ours."""
        if self._closed:
            return
        self._closed = True
        try:
            self.client.close()
        finally:
            if self.process is not None:
                self.process.stop()

    def __enter__(self) -> "ExecutorConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ExecutorConnection({self.address!r}, {self.kind})"


@atexit.register
def _close_all() -> None:
    for conn in list(_LIVE):
        try:
            conn.close()
        except Exception:  # at exit, one failure must not keep the others running
            pass


def executor_choice(executor: "ExecutorConnection | str | None" = None,
                    executor_type: str | None = None) -> "ExecutorConnection | str | None":
    """One value from an agent's `executor=` and smolagents' `executor_type=`: a connection, an
    address, a kind in EXECUTOR_KINDS, or None (then $SANDCELL_EXECUTOR, else "auto").
    ValueError, at construction, for what cannot be served."""
    if executor_type is not None:
        if executor_type in _FOREIGN_TYPES:
            raise ValueError(f"executor_type={executor_type!r} is a smolagents remote sandbox this package does "
                             "not drive; sandcell runs code in its own executor: use executor_type=\"docker\" "
                             "(the hardened container), \"local\" (an embedded process) or executor=\"host:port\"")
        if executor_type not in ("docker", "local"):
            raise ValueError(f"executor_type must be 'docker' or 'local', not {executor_type!r}")
        if executor is not None and executor != executor_type:
            raise ValueError(f"executor={executor!r} and executor_type={executor_type!r} disagree; give one")
        return executor_type
    if isinstance(executor, str) and ":" not in executor and executor not in EXECUTOR_KINDS:
        raise ValueError(f"executor={executor!r} is neither \"host:port\" nor one of {', '.join(EXECUTOR_KINDS)}")
    return executor


def choose_default(image: str | None = None) -> tuple[str, str]:
    """("docker" | "local", why): what an agent without an address uses.

    The container when Docker answers and the executor image is built, because the
    container is the outer layer of the boundary (DESIGN.md "Isolation"): without it, code that
    got past the jail and the policy would run as the agent's user on the host, with the
    host's network. It costs start time (see the README's "agent start → first execute"
    rows, embedded vs docker); an agent that wants the fast path asks for "local".
    """
    image = image or launcher.default_image()
    try:
        from sandcell.container import docker_client, require_image
        require_image(docker_client(timeout_s=5), image)
    except ContainerError as exc:
        return "local", f"the embedded local executor (no container: {exc})"
    return "docker", f"the hardened container (image {image})"


def open_executor(address: str | None = None, token: str | None = None, *,
                  imports: Sequence[str] = (), announce=None) -> ExecutorConnection:
    """`address` (or $SANDCELL_EXECUTOR) is "host:port" of a running executor (with `token`,
    or $SANDCELL_TOKEN), or "docker", "local" or "auto" (the default: `choose_default`).
    `announce(text)`, if given, hears which executor was chosen and why.

    `imports`: the extra modules the caller's sessions will ask for. A running executor's
    operator sets its ceiling; for one we start the caller *is* the operator, so its
    ceiling is set to exactly these (otherwise `--imports json` could never work locally).
    """
    target = address or os.environ.get("SANDCELL_EXECUTOR") or "auto"
    why = ""
    if target == "auto":
        target, why = choose_default()
    if target == "docker":
        conn = ExecutorConnection.start_docker(imports)
        why = why or f"the hardened container (image {conn.launcher.config.image})"
    elif target == "local":
        flags = ("--import-ceiling", ",".join(imports)) if imports else ()
        conn = ExecutorConnection.start_local(*flags)
        why = why or "the embedded local executor (no container), as asked"
    else:
        conn = ExecutorConnection.connect(target, token or os.environ.get("SANDCELL_TOKEN"))
        why = f"the executor at {target}"
    if announce is not None:
        announce(f"executor: {why}, at {conn.address}")
    return conn
