"""Reaching an executor: a running one by address, or an embedded local process we own."""
from __future__ import annotations

import atexit
import os
import secrets
import weakref
from collections.abc import Sequence

from sandcell.client import ExecutorClient
from sandcell.local import ExecutorProcess

from agent.errors import ExecutorStartError

__all__ = ["ExecutorConnection", "open_executor"]

_LIVE: "weakref.WeakSet[ExecutorConnection]" = weakref.WeakSet()


class ExecutorConnection:
    """An ExecutorClient, plus the local executor process when this object started it."""

    def __init__(self, client: ExecutorClient, *, process: ExecutorProcess | None = None,
                 token: str | None = None):
        self.client = client
        self.address = client.address
        self.process = process
        # kept so that other clients (a CLI, a second agent) can share an embedded executor
        self.token = token
        self._closed = False
        _LIVE.add(self)

    @property
    def owns_process(self) -> bool:
        return self.process is not None

    @classmethod
    def connect(cls, address: str, token: str | None = None) -> "ExecutorConnection":
        """A running executor at "host:port"."""
        return cls(ExecutorClient(address, token=token), token=token)

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
        kind = "embedded" if self.owns_process else "remote"
        return f"ExecutorConnection({self.address!r}, {kind})"


@atexit.register
def _close_all() -> None:
    for conn in list(_LIVE):
        try:
            conn.close()
        except Exception:  # at exit, one failure must not keep the others running
            pass


def open_executor(address: str | None = None, token: str | None = None, *,
                  imports: Sequence[str] = ()) -> ExecutorConnection:
    """`address` (or $SANDCELL_EXECUTOR) connects to a running executor, with `token`
    (or $SANDCELL_TOKEN); without one, an embedded local executor is started.

    `imports`: the extra modules the caller's sessions will ask for. A running executor's
    operator sets its ceiling; for an embedded one the caller *is* the operator, so its
    ceiling is set to exactly these (otherwise `--imports json` could never work locally).
    """
    address = address or os.environ.get("SANDCELL_EXECUTOR")
    if address:
        return ExecutorConnection.connect(address, token or os.environ.get("SANDCELL_TOKEN"))
    flags = ("--import-ceiling", ",".join(imports)) if imports else ()
    return ExecutorConnection.start_local(*flags)
