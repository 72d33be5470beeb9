"""The server's own descriptor budget.

Each session holds descriptors in the server (its worker's channel, its checkpoint, the
pidfd of its worker), and so does each spare, each gRPC connection and the server itself. The
soft RLIMIT_NOFILE is often 1024 or less while the hard one is far higher, so the server
raises the soft limit to the hard one at start; then it refuses a --max-sessions the budget
cannot hold, instead of failing create number N with "Too many open files".
"""
from __future__ import annotations

import resource

__all__ = ["PER_SESSION", "RESERVED", "raise_nofile", "check_budget"]

PER_SESSION = 4   # channel, checkpoint, pidfd, and one for a restore's new channel meanwhile
RESERVED = 256    # gRPC (listeners, connections, its pollers), spares, the zygote, logs, metrics


def raise_nofile() -> int:
    """Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):  # e.g. above fs.nr_open: keep what we have
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def check_budget(max_sessions: int) -> None:
    """Raises ValueError when max_sessions needs more descriptors than the limit allows."""
    limit = raise_nofile()
    need = RESERVED + PER_SESSION * max_sessions
    if need > limit:
        fits = max(0, (limit - RESERVED) // PER_SESSION)
        raise ValueError(f"--max-sessions={max_sessions} needs about {need} open files ({PER_SESSION} per session "
                         f"plus {RESERVED}), but the limit is {limit}: raise it (ulimit -n, or the container's "
                         f"nofile ulimit) or use --max-sessions={fits} or fewer")
