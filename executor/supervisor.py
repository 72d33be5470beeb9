"""Keeps a zygote running: if it dies (killed, crashed), health reports NOT_SERVING while a
new one starts, with back-off; creates then succeed again.

Sessions survive it: their workers die with the zygote (PR_SET_PDEATHSIG), and each comes
back from its checkpoint on its next execute (`restored: true`), forked by the new zygote.

Every zygote is started from the supervisor's own thread, which lives as long as the
server: a zygote's parent-death signal fires when the *thread* that forked it ends.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from typing import Callable

from executor.errors import WorkerStartError
from executor.zygote_handle import ZygoteHandle

__all__ = ["ZygoteSupervisor"]

log = logging.getLogger("sandcell.zygote")

_FIRST_BACKOFF_S, _MAX_BACKOFF_S = 0.1, 10.0
_STABLE_S = 30.0          # a zygote that lived this long resets the back-off
_SPAWN_WAIT_S = 10.0      # how long a spawn waits for a restarting zygote


class ZygoteSupervisor:
    """Starts a zygote with `start(on_lost)` and restarts it when it dies. Offers the part of
    ZygoteHandle the sessions use (spawn, alive, mapped_bytes, close)."""

    def __init__(self, start: Callable[[Callable[[], None]], ZygoteHandle]):
        self._start = start
        self._current: ZygoteHandle | None = None
        self._serving = threading.Event()   # a live zygote is there
        self._lost = threading.Event()
        self._stopping = threading.Event()
        self.on_health: Callable[[bool], None] | None = None  # the server's health, set by it
        self.restarts = 0
        first: Future = Future()
        self._thread = threading.Thread(target=self._run, args=(first,), name="zygote-supervisor", daemon=True)
        self._thread.start()
        first.result()  # the first start's error, if any, is the server's
        self.mapped_bytes: int = self._current.mapped_bytes

    @property
    def alive(self) -> bool:
        current = self._current
        return self._serving.is_set() and current is not None and current.alive

    @property
    def pid(self) -> int:
        return self._current.pid if self._current is not None else 0

    def _run(self, first: Future) -> None:
        backoff = _FIRST_BACKOFF_S
        while not self._stopping.is_set():
            try:
                self._lost.clear()
                handle = self._start(self._lost.set)
            except Exception as exc:
                if not first.done():
                    first.set_exception(exc)
                    return
                log.error("zygote restart failed; retrying", extra={"event": "zygote_restart_failed",
                                                                     "error": str(exc), "retry_s": backoff})
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
                continue
            self._current = handle
            started = time.monotonic()
            self._serving.set()
            if first.done():
                log.info("zygote restarted", extra={"event": "zygote_restarted", "pid": handle.pid})
                self._report(True)
            else:
                first.set_result(None)
            while not self._stopping.is_set() and not self._lost.wait(0.5):
                if not handle.alive:  # died without closing its channel first (it can't, but be sure)
                    break
            if self._stopping.is_set():
                return
            self._serving.clear()
            self._report(False)
            self.restarts += 1
            log.error("zygote died; restarting it", extra={"event": "zygote_died", "pid": handle.pid,
                                                          "retry_s": backoff})
            handle.abandon()
            if time.monotonic() - started > _STABLE_S:
                backoff = _FIRST_BACKOFF_S
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def _report(self, serving: bool) -> None:
        if self.on_health is not None:
            try:
                self.on_health(serving)
            except Exception:
                log.exception("health update failed")

    def spawn(self, spec: dict, chan_fd: int, ckpt_fd: int) -> Future:
        """ZygoteHandle.spawn on the live zygote, waiting a while for one that is restarting."""
        deadline = time.monotonic() + _SPAWN_WAIT_S
        while self._serving.wait(max(0.0, deadline - time.monotonic())) and not self._stopping.is_set():
            handle = self._current
            try:
                return handle.spawn(spec, chan_fd, ckpt_fd)
            except WorkerStartError:
                if not handle.gone.wait(1.0):
                    raise  # the zygote is there: a real failure
            while self._current is handle and self._serving.is_set() and time.monotonic() < deadline:
                time.sleep(0.02)  # the supervisor is about to notice and replace it
        raise WorkerStartError("the executor's zygote is restarting and did not come back in time; "
                               "retry shortly")

    def close(self) -> None:
        self._stopping.set()
        self._lost.set()
        current = self._current
        if current is not None:
            current.close()
        self._thread.join(5)
