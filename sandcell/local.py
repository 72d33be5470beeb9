"""Starts a real executor server process on a loopback port (port 0): for embedding, tests, benches."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["ExecutorProcess", "free_ports"]


class ExecutorProcess:
    """`python -m executor` in a subprocess; `.address` once it serves. Stop with .stop()."""

    def __init__(self, *flags: str, env: dict | None = None, timeout_s: float = 60.0,
                 python: str = sys.executable):
        self._dir = tempfile.mkdtemp(prefix="sandcell-test-")
        ready = os.path.join(self._dir, "ready")
        self.log_path = os.path.join(self._dir, "server.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [python, "-m", "executor", "--host", "127.0.0.1", "--port", "0", "--ready-file", ready,
             "--parent-pid", str(os.getpid()), *flags],
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"executor did not start; log:\n{self.log()}")
            time.sleep(0.02)
        self.address = Path(ready).read_text()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def zygote(self):
        """psutil.Process of the zygote (the server's child that forks workers)."""
        import psutil
        return next(p for p in psutil.Process(self.pid).children() if "executor.zygote" in " ".join(p.cmdline()))

    def session_workers(self) -> list:
        """psutil.Process of each session worker (the zygote's children that entered a work dir)."""
        import psutil
        zygote = self.zygote()
        workers = []
        for child in zygote.children():
            try:
                if child.cwd() != zygote.cwd():
                    workers.append(child)
            except psutil.Error:  # exited meanwhile
                pass
        return workers

    def log(self) -> str:
        if not self._log.closed:  # still readable after stop(), e.g. for a start failure
            self._log.flush()
        return Path(self.log_path).read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> "ExecutorProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports, for servers that must know each other's before they start
    (replicas given each other as --peers)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports
