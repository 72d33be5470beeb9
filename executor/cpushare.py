"""CPU shares between tenants: the scheduling weight of a tenant's session workers.

What is enforced where (README "Shared servers"):
* execute slots: always, by executor/admission.py (per-tenant cap, round-robin admission);
* CPU time: per execute and per session by RLIMIT_CPU, per tenant and minute by the
  cpu_seconds_per_minute quota (checked at admission);
* CPU weight: a tenant's `nice=N` (credentials file) is applied to each of its workers when it
  starts, so the kernel gives them less of a contended core than nice-0 workers. Raising a
  niceness needs no privilege, lowering one does, so the weight is fixed per tenant rather
  than adjusted with load. cgroup v2 sub-groups per tenant would give proportional shares,
  but neither the hardened container (its cgroup is mounted read-only) nor a typical host
  service delegates its cgroup, so they are not used.
"""
from __future__ import annotations

import os

__all__ = ["set_weight"]


def set_weight(pid: int, nice: int) -> None:
    """Makes worker `pid` `nice` steps nicer than it started (the server's own niceness), so
    the tenant's weight is relative to the other tenants' wherever the server runs."""
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, pid) + nice))
        except OSError:  # exited already; its restore sets the weight again
            pass
