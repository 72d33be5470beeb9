"""Fair admission of executes: server-wide slots shared round-robin between tenants, a per-tenant
cap, a short bounded wait queue, and a per-tenant CPU-seconds-per-minute budget.

* A call that finds a free slot (and its tenant under its cap, with none of its own calls
  waiting) runs at once: one lock, a few dict operations.
* Otherwise it waits in its tenant's FIFO queue, for at most `queue_timeout_s`, and only if
  fewer than `queue_length` calls wait in all. Each freed slot goes to the next tenant in
  round-robin order that has a waiter and is under its cap, so a tenant with many queued
  calls gets no more turns than one with a single call.
* A wait that ends without a slot is RESOURCE_EXHAUSTED with a retry hint: the tenant's own
  `max_concurrent_executes` quota when that is what held it back, else TOO_MANY_EXECUTES.

With per-tenant caps below the server's slot count, one tenant can never hold every slot,
so another tenant's call finds one free without waiting for a long cell to end.
"""
from __future__ import annotations

import threading
import time
from collections import deque

from executor.errors import CpuQuotaError, ExecutesQuotaError, TooManyExecutesError

__all__ = ["Admission", "CpuBudget"]


class _Waiter:
    __slots__ = ("cap", "granted", "event")

    def __init__(self, cap: int):
        self.cap = cap
        self.granted = False
        self.event = threading.Event()


class Admission:
    def __init__(self, slots: int, queue_length: int, queue_timeout_s: float):
        self.slots = slots
        self.queue_length = queue_length
        self.queue_timeout_s = queue_timeout_s
        self._lock = threading.Lock()
        self.running = 0
        self._held: dict[str, int] = {}
        self._waiting: dict[str, deque[_Waiter]] = {}
        self._turns: deque[str] = deque()  # tenants with waiters, in round-robin order
        self._queued = 0

    def held(self, tenant: str) -> int:
        return self._held.get(tenant, 0)

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot now."""
        return self._queued

    def enter(self, tenant: str, cap: int) -> None:
        """Takes a slot for `tenant` (at most `cap` at once), waiting briefly; raises when none comes."""
        with self._lock:
            held = self._held.get(tenant, 0)
            if self.running < self.slots and held < cap and tenant not in self._waiting:
                self.running += 1
                self._held[tenant] = held + 1
                return
            if self._queued >= self.queue_length or self.queue_timeout_s <= 0:
                raise self._refusal(tenant, cap, held)
            waiter = _Waiter(cap)
            queue = self._waiting.get(tenant)
            if queue is None:
                queue = self._waiting[tenant] = deque()
                self._turns.append(tenant)
            queue.append(waiter)
            self._queued += 1
            self._dispatch()
        if waiter.event.wait(self.queue_timeout_s):
            return
        with self._lock:
            if waiter.granted:  # granted just as the wait timed out
                return
            queue = self._waiting[tenant]
            queue.remove(waiter)
            self._queued -= 1
            if not queue:
                del self._waiting[tenant]
                self._turns.remove(tenant)
            raise self._refusal(tenant, cap, self._held.get(tenant, 0))

    def leave(self, tenant: str) -> None:
        with self._lock:
            self.running -= 1
            held = self._held[tenant] - 1
            if held:
                self._held[tenant] = held
            else:
                del self._held[tenant]
            if self._turns:
                self._dispatch()

    def _dispatch(self) -> None:
        """Hands free slots to waiting tenants in round-robin order (under the lock)."""
        passed = 0  # tenants looked at since the last grant; a full pass without one ends it
        while self.running < self.slots and passed < len(self._turns):
            tenant = self._turns.popleft()
            queue = self._waiting[tenant]
            held = self._held.get(tenant, 0)
            if held >= queue[0].cap:
                self._turns.append(tenant)
                passed += 1
                continue
            waiter = queue.popleft()
            self._queued -= 1
            self.running += 1
            self._held[tenant] = held + 1
            waiter.granted = True
            waiter.event.set()
            passed = 0
            if queue:
                self._turns.append(tenant)
            else:
                del self._waiting[tenant]

    def _refusal(self, tenant: str, cap: int, held: int) -> Exception:
        retry_s = max(0.1, self.queue_timeout_s)
        if held >= cap:
            return ExecutesQuotaError(
                f"tenant {tenant!r} runs its maximum of {cap} executes at once (quota max_concurrent_executes); "
                f"wait for one to finish, then retry", retry_s, limit=cap)
        err = TooManyExecutesError(
            f"the server runs its maximum of {self.slots} executes at once and its wait queue is full "
            "or waited too long; retry shortly", max_concurrent_executes=self.slots)
        err.retry_after_s = retry_s
        return err


class CpuBudget:
    """CPU seconds each tenant used over the last minute, against its cpu_seconds_per_minute."""

    WINDOW_S = 60.0

    def __init__(self):
        self._lock = threading.Lock()
        self._used: dict[str, deque[tuple[float, float]]] = {}  # tenant -> (monotonic time, cpu s)

    def _prune(self, tenant: str, now: float) -> deque | None:
        used = self._used.get(tenant)
        while used and used[0][0] <= now - self.WINDOW_S:
            used.popleft()
        return used

    def check(self, tenant: str, per_minute: float) -> None:
        """Raises CpuQuotaError when the tenant used its minute's CPU; a no-op for 0 (unlimited)."""
        if per_minute <= 0 or tenant not in self._used:
            return
        now = time.monotonic()
        with self._lock:
            used = self._prune(tenant, now)
            total = sum(cpu for _, cpu in used) if used else 0.0
            if total < per_minute:
                return
            # When enough of the window's oldest use expires to bring the total under the quota.
            excess, retry_at = total - per_minute, now
            for at, cpu in used:
                excess -= cpu
                retry_at = at + self.WINDOW_S
                if excess < 0:
                    break
        raise CpuQuotaError(
            f"tenant {tenant!r} used {total:.1f} CPU seconds in the last minute, its quota "
            f"cpu_seconds_per_minute is {per_minute:g}; retry after the hint", max(0.1, retry_at - now),
            limit=per_minute)

    def charge(self, tenant: str, cpu_s: float) -> None:
        if cpu_s <= 0:
            return
        now = time.monotonic()
        with self._lock:
            used = self._prune(tenant, now)
            if used is None:
                used = self._used[tenant] = deque()
            used.append((now, cpu_s))
