"""Threads in a session: what the session's memory limit leaves them (executor/zygote_handle.py
sets one malloc arena per worker)."""
from __future__ import annotations

from sandcell.client import ExecutorClient, Limits
from sandcell.local import ExecutorProcess


def test_threads_get_the_address_space_for_their_stacks():
    """Under the default 512 MiB address-space limit, hundreds of threads start. glibc would
    give each thread its own malloc arena, reserving 64 MiB of address space apiece: then
    the limit ran out at a few hundred threads, inside a new thread's start-up, where
    CPython's Thread.start() waits forever for a thread that died (the execute timed out)."""
    with ExecutorProcess("--import-ceiling", "threading") as proc, ExecutorClient(proc.address) as c, \
            c.create_session(extra_imports=["threading"], limits=Limits(wall_timeout_ms=20_000)) as s:
        r = s.execute("import threading\nthreading.stack_size(32 * 1024)\nrelease = threading.Event()\n"
                      "threads = [threading.Thread(target=release.wait, args=(30,)) for _ in range(800)]\n"
                      "for t in threads:\n    t.start()\nrelease.set()\nfor t in threads:\n    t.join()\n"
                      "len(threads)")
        assert r.ok and r.value.python() == 800, r
