"""The smallest value of each session limit that leaves a usable session.

Below these a session is accepted but cannot work (open_files under 6 and the worker cannot
even start; an idle TTL under the reaper's 1 s tick closes it between two calls), so a create
asking for less is refused with INVALID_ARGUMENT naming the limit, and a server configured
below one refuses to start. memory_bytes' floor depends on the runtime: SessionManager checks it.
"""
from __future__ import annotations

from dataclasses import fields

from executor.config import SessionLimits

__all__ = ["FLOORS", "below_floor"]

KiB = 1024

# name -> (floor, why), in the limit's own unit.
FLOORS: dict[str, tuple[int, str]] = {
    "wall_timeout_ms": (10, "a timer finer than that only measures its own overhead"),
    "cpu_per_execute_ms": (10, "a timer finer than that only measures its own overhead"),
    "session_cpu_ms": (1_000, "the kernel's CPU limit counts whole seconds"),
    "output_bytes": (64, "room for one line of output before the truncation mark"),
    "file_size_bytes": (64 * KiB, "the session's checkpoint is a file under this limit too; below it "
                                  "a few small definitions do not fit"),
    "workdir_bytes": (4 * KiB, "one filesystem block"),
    "open_files": (8, "the worker itself holds 6 descriptors (stdio, its channel, its checkpoint)"),
    "idle_ttl_ms": (1_000, "sessions are reaped on a 1 s tick"),
    "max_lifetime_ms": (1_000, "sessions are reaped on a 1 s tick"),
}
assert set(FLOORS) | {"memory_bytes"} == {f.name for f in fields(SessionLimits)}


def below_floor(limits: SessionLimits) -> tuple[str, str] | None:
    """(name, message) of the first limit below its floor, or None."""
    for name, (floor, why) in FLOORS.items():
        value = getattr(limits, name)
        if value < floor:
            return name, f"{name}={value} is below its floor of {floor} ({why}); use at least {floor}"
    return None
