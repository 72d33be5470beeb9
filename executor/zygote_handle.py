"""The server's handle on the zygote process: spawn workers, learn when they exit."""
from __future__ import annotations

import collections
import errno
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import Callable

from executor import ipc
from executor.errors import WorkerStartError
from executor.procs import ChildProcess

__all__ = ["ZygoteHandle"]

log = logging.getLogger("sandcell.zygote")


class ZygoteHandle:
    """Starts `python -m executor.zygote` and multiplexes its control socket."""

    def __init__(self, preload_imports: tuple[str, ...], on_exit: Callable[[int, int], None] | None = None,
                 start_timeout_s: float = 60.0, default_session: dict | None = None,
                 on_lost: Callable[[], None] | None = None):
        self._on_exit = on_exit
        self._on_lost = on_lost  # called once if the zygote goes away without close()
        self._closing = False
        self.gone = threading.Event()  # its control channel has closed
        self._lock = threading.Lock()
        self._pending: dict[int, Future] = {}
        self._spares: collections.deque = collections.deque()  # (ChildProcess, inbox) offered by the zygote
        self._children: dict[int, ChildProcess] = {}  # forked by the zygote, not yet reaped
        self._spare_lock = threading.Lock()
        self._seq = itertools.count(1)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "HOME")}
        # glibc gives threads their own malloc arenas, each reserving 64 MiB of address space:
        # a few threads would spend a session's RLIMIT_AS on reservations, and a thread that
        # then fails to allocate while starting leaves Thread.start() waiting forever. One
        # arena per worker keeps address space for what the code actually allocates.
        env["MALLOC_ARENA_MAX"] = "1"
        env["SANDCELL_SERVER_PID"] = str(os.getpid())  # the zygote dies with it (PR_SET_PDEATHSIG)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "executor.zygote", str(theirs.fileno()), json.dumps(list(preload_imports)),
             *([json.dumps(default_session)] if default_session is not None else [])],
            pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
        theirs.close()
        self._sock = ours
        ours.settimeout(start_timeout_s)
        try:
            hello = ipc.recv(ours)
        except (OSError, ipc.ChannelClosed) as exc:
            self._proc.kill()
            raise WorkerStartError(f"the zygote did not start: {exc}") from exc
        ours.settimeout(None)
        self.pid = self._proc.pid  # ours from the fork, not from what it says
        self.mapped_bytes: int = hello.get("mapped_bytes", 0)  # address space every worker starts with
        self._reader = threading.Thread(target=self._read_loop, name="zygote-reader", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def _read_loop(self) -> None:
        while True:
            try:
                msg, fds = ipc.recv(self._sock, with_fds=2)
            except (OSError, ipc.ChannelClosed, ValueError):
                self.gone.set()
                for fut in list(self._pending.values()):
                    fut.set_exception(WorkerStartError("the zygote died; it is being restarted, retry shortly"))
                if not self._closing:  # close() is the expected end, not worth a log line
                    log.error("zygote control channel closed", extra={"event": "zygote_lost"})
                    if self._on_lost is not None:
                        self._on_lost()
                return
            op = msg.get("op")
            if op in ("spare", "spawned"):
                # Registered here, in the one thread that reads the zygote, so its "exited"
                # (always sent after this) finds it.
                pidfd = fds.pop() if msg.get("pidfd") and fds else None
                try:
                    child = ChildProcess(msg["pid"], pidfd)
                except ValueError:
                    log.error("zygote reported an impossible pid", extra={"event": "zygote_bad_pid"})
                    child = None
                if child is not None:
                    self._children[child.pid] = child
                if op == "spare" and fds and child is not None:
                    with self._spare_lock:
                        self._spares.append((child, socket.socket(fileno=fds.pop())))
                elif op == "spawned":
                    fut = self._pending.pop(msg["req"], None)
                    if fut is not None:
                        if child is None:
                            fut.set_exception(WorkerStartError("the zygote reported no usable pid"))
                        else:
                            fut.set_result(child)
            elif op == "spare_gone":
                self._drop_spare(msg["pid"])
            elif op == "exited":
                child = self._children.pop(msg["pid"], None)
                if child is not None:
                    child.set_exited(msg["status"])
                try:
                    if self._on_exit is not None:
                        self._on_exit(msg["pid"], msg["status"])
                except Exception:
                    log.exception("exit callback failed")
            for fd in fds:
                os.close(fd)

    def _drop_spare(self, pid: int) -> None:
        with self._spare_lock:
            for item in [i for i in self._spares if i[0].pid == pid]:
                self._spares.remove(item)
                item[1].close()

    def spawn(self, spec: dict, chan_fd: int, ckpt_fd: int) -> Future:
        try:
            return self._spawn(spec, chan_fd, ckpt_fd)
        except (BrokenPipeError, ConnectionResetError) as exc:  # the zygote is gone
            raise WorkerStartError(f"the zygote is gone ({exc}); it is being restarted, retry shortly") from exc

    def _spawn(self, spec: dict, chan_fd: int, ckpt_fd: int) -> Future:
        """Asks for a worker; the future resolves to its ChildProcess (the only source of its
        pid: the worker's own messages are never trusted for it). The descriptors are
        duplicated into the worker. When a spare takes it, the future is already done."""
        fut: Future = Future()
        while True:
            with self._spare_lock:
                if not self._spares:
                    break
                child, inbox = self._spares.popleft()
            try:
                ipc.send(inbox, {"spec": spec}, fds=[chan_fd, ckpt_fd])
                failed = None
            except OSError as exc:  # it died unused (its spare_gone is on the way), or bad fds
                failed = exc
            finally:
                inbox.close()
            # Taken either way: the zygote drops its end (a live spare then exits) and forks a
            # new one. A spare popped here but never reported would be lost to both sides.
            with self._lock:
                ipc.send(self._sock, {"op": "taken", "pid": child.pid})
            if failed is None:
                fut.set_result(child)
                return fut
            if failed.errno == errno.EBADF:
                raise WorkerStartError(f"the session's descriptors are closed: {failed}")
        req = next(self._seq)
        self._pending[req] = fut
        with self._lock:
            ipc.send(self._sock, {"op": "spawn", "req": req, "spec": spec}, fds=[chan_fd, ckpt_fd])
        if self.gone.is_set() and self._pending.pop(req, None) is not None:  # the reader failed the rest
            fut.set_exception(WorkerStartError("the zygote died; it is being restarted, retry shortly"))
        return fut

    def abandon(self) -> None:
        """After the zygote died: its workers die with it (PR_SET_PDEATHSIG); make sure of it
        through their pidfds, and report them exited, since no zygote will."""
        self.close()
        for child in list(self._children.values()):
            child.signal(signal.SIGKILL)
            child.set_exited(signal.SIGKILL)  # a wait status: killed by SIGKILL
        self._children.clear()
        with self._spare_lock:
            while self._spares:
                self._spares.popleft()[1].close()

    def close(self) -> None:
        self._closing = True
        try:
            self._sock.close()
        finally:
            try:
                self._proc.terminate()
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
