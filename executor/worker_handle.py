"""The server's handle on one session worker: its channel, and the process behind it as the
zygote reported it (executor/procs.py). Nothing here takes the worker's word for anything."""
from __future__ import annotations

import signal
import socket
import threading
from dataclasses import dataclass, field

from executor import ipc
from executor.procs import ChildProcess

__all__ = ["WorkerHandle"]


@dataclass
class WorkerHandle:
    sock: socket.socket
    child: ChildProcess | None = None  # set once the zygote has said which process took it
    reader: ipc.FrameReader = field(init=False)  # every read of sock goes through it
    killed_by_us: bool = False
    ready_pending: bool = False  # its "ready" (sent once jailed) is still unread in sock
    _no_child: threading.Event = field(default_factory=threading.Event)  # stands in until child is known

    def __post_init__(self):
        self.reader = ipc.FrameReader(self.sock)

    @property
    def pid(self) -> int:
        return self.child.pid if self.child is not None else -1  # for logs only: never signalled

    @property
    def exited(self) -> threading.Event:
        return self.child.exited if self.child is not None else self._no_child

    @property
    def status(self) -> int | None:
        return self.child.status if self.child is not None else None

    def kill(self, wait_s: float = 5.0) -> None:
        """SIGKILL through the pidfd (only ever this worker), drop the channel, and wait for
        the zygote to report it reaped."""
        self.killed_by_us = True
        alive = self.child is not None and self.child.signal(signal.SIGKILL)
        self.sock.close()
        if alive:
            self.exited.wait(wait_s)
