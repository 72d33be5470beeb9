"""Stopping a running cell when its caller is gone (stream cancelled, channel closed, client
deadline passed).

The handler thread of an execute is blocked reading the worker, so it cannot notice the RPC
ending by itself while the cell is silent. gRPC runs a callback when the RPC ends
(`context.add_callback`); that callback calls `Cancellation.cancel()`, which runs the hook the
execute bound: a soft interrupt first (the worker raises `ExecutionCancelled` inside the code,
as it does `TimeoutError`, so state assigned so far is kept and the worker answers at once),
and, if the worker has not answered within `HARD_KILL_AFTER_S`, a hard stop (SIGKILL; the
handler thread sees the worker die and restores the session from its checkpoint).
"""
from __future__ import annotations

import signal
import threading
from typing import Callable

__all__ = ["Cancellation", "HARD_KILL_AFTER_S", "CANCEL_SIGNAL"]

CANCEL_SIGNAL = signal.SIGUSR1  # the worker raises ExecutionCancelled inside the code on it

HARD_KILL_AFTER_S = 0.1  # a cell that swallows the soft interrupt is killed this much later


class Cancellation:
    """One execute's link to its RPC. `cancel()` (gRPC's end-of-RPC callback) runs the bound
    `soft` hook at once and the `hard` one HARD_KILL_AFTER_S later, each only while the execute
    is still bound: once `unbind()` returns (the execute has its result), neither runs, so a
    late cancel can never reach the session's next execute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._hooks: tuple[Callable[[], None], Callable[[], None]] | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            self._fire_soft()

    def bind(self, soft: Callable[[], None], hard: Callable[[], None]) -> None:
        """Interrupts with `soft`, then `hard`, on cancel (at once if already cancelled)."""
        with self._lock:
            self._hooks = (soft, hard)
            if self._cancelled:
                self._fire_soft()

    def unbind(self) -> None:
        """The execute is over: a cancel from now on stops nothing."""
        with self._lock:
            self._hooks = None

    def _fire_soft(self) -> None:  # under _lock
        if self._hooks is None:
            return
        self._hooks[0]()
        timer = threading.Timer(HARD_KILL_AFTER_S, self._fire_hard, args=(self._hooks,))
        timer.daemon = True
        timer.start()

    def _fire_hard(self, hooks) -> None:
        with self._lock:
            if self._hooks is hooks:  # still the same execute, and it hasn't answered
                hooks[1]()
