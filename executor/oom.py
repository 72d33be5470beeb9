"""How many processes the kernel's OOM killer has killed in our memory cgroup (in a container:
the container's), so a worker killed by it is reported as out of memory, not as 'killed'."""
from __future__ import annotations

__all__ = ["oom_kills"]

# cgroup v2, then v1; outside a container the root cgroup has neither and we report None.
_SOURCES = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")


def oom_kills() -> int | None:
    for path in _SOURCES:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
    return None
