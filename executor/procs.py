"""The processes the server may signal, and how it signals them.

Threat model: a worker's own messages (its "ready", anything on its channel) may name any
pid. The server therefore learns a worker's identity only from the zygote, which forks it:
at fork time the zygote opens a *pidfd* for the child (it cannot have been reaped and its
pid reused yet, since only the zygote reaps it) and passes it to the server with the pid.
A signal then goes through the pidfd, so it reaches that child or nobody, even if the pid
has since been reused. Without pidfds (old kernels), a pid is signalled only if it is the
zygote's report of its own child and passes `signalable()`.
"""
from __future__ import annotations

import logging
import os
import signal
import threading

__all__ = ["ChildProcess", "signalable", "open_pidfd"]

log = logging.getLogger("sandcell.procs")


def open_pidfd(pid: int) -> int | None:
    """A pidfd for a child just forked (in the zygote), or None where the kernel has none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def signalable(pid: int) -> bool:
    """Whether a plain kill(pid) could only reach one ordinary process other than us: never
    a process group or "everyone" (pid <= 0, -1), never init, never this process or its group."""
    return type(pid) is int and pid > 1 and pid != os.getpid() and pid != os.getpgrp()


class ChildProcess:
    """A worker the zygote forked: its pid (for the zygote's exit reports and logs) and its
    pidfd (for signals). `exited` is set, with the wait status, when the zygote reaps it."""

    def __init__(self, pid: int, pidfd: int | None):
        if not signalable(pid):
            if pidfd is not None:
                os.close(pidfd)
            raise ValueError(f"refusing to track pid {pid!r} as a worker")
        self.pid = pid
        self._pidfd = pidfd
        self._lock = threading.Lock()  # a signal never races the pidfd's close (fd reuse)
        self.exited = threading.Event()
        self.status: int | None = None

    def signal(self, sig: int = signal.SIGKILL) -> bool:
        """Sends sig to this child if it is still there; False if it is gone."""
        with self._lock:
            if self.exited.is_set() and self._pidfd is None:
                return False
            try:
                if self._pidfd is not None:
                    signal.pidfd_send_signal(self._pidfd, sig)
                elif not self.exited.is_set():
                    os.kill(self.pid, sig)  # signalable() held at construction
                else:
                    return False
            except ProcessLookupError:
                return False
            return True

    def set_exited(self, status: int) -> None:
        """The zygote reaped it: from now on its pid may name another process."""
        self.status = status
        self.exited.set()
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None

    def __repr__(self) -> str:
        return f"ChildProcess(pid={self.pid}, pidfd={self._pidfd}, exited={self.exited.is_set()})"
