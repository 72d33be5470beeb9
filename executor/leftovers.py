"""The server's private directories, and what a dead predecessor left of its own.

A server keeps checkpoints in a state dir and session work dirs under a sessions dir, each
created private (0700) and marked with its owner (pid and process start time, so a reused
pid is not mistaken for it). A server killed with SIGKILL cannot remove them; the next one
to start removes every such directory of the same user whose owner is gone, in the same
parent (the temp dir, or --workdir-root). Directories of a live server (tests run several
side by side) are left alone.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time

__all__ = ["owned_dir", "sweep", "STATE_PREFIX", "SESSIONS_PREFIX"]

log = logging.getLogger("sandcell.leftovers")

STATE_PREFIX = "sandcell-state-"
SESSIONS_PREFIX = "sandcell-sessions-"
_OWNER = ".owner"
_UNMARKED_GRACE_S = 60.0  # a directory this young without its mark may be a server starting now


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # comm (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
    fields = stat[stat.rfind(b")") + 2:].split()
    return fields[19].decode() if len(fields) > 19 else None  # field 22 of the whole line


def owned_dir(parent: str | None, prefix: str) -> str:
    """A new private directory (0700) under parent (default: the temp dir), marked as ours."""
    path = tempfile.mkdtemp(prefix=prefix, dir=parent or None)
    pid = os.getpid()
    fd = os.open(os.path.join(path, _OWNER), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with open(fd, "w") as f:
        f.write(f"{pid} {_start_time(pid)}\n")
    return path


def _owner_alive(path: str) -> bool | None:
    """Whether the server that made path still runs; None if path carries no mark."""
    try:
        with open(os.path.join(path, _OWNER)) as f:
            pid_text, started = f.read().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    return _start_time(pid) == started


def sweep(parent: str | None, prefix: str) -> list[str]:
    """Removes our user's directories named prefix* under parent whose owner is gone."""
    parent = parent or tempfile.gettempdir()
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not entry.is_dir(follow_symlinks=False) or st.st_uid != os.geteuid():
            continue
        alive = _owner_alive(entry.path)
        if alive or (alive is None and now - st.st_mtime < _UNMARKED_GRACE_S):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    if removed:
        log.info("removed what a stopped server left", extra={"event": "leftovers_removed",
                                                              "count": len(removed)})
    return removed
