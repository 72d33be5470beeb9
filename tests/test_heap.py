"""The zygote's heap freeze (executor/heap.py): what it does to objects, and that a frozen
heap still behaves like an ordinary one in the zygote and in the workers forked from it."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from executor.heap import IMMORTAL_REFCOUNT

IMMORTALS = sys.version_info >= (3, 12)


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_freeze_makes_what_the_zygote_holds_immortal_where_python_allows_it():
    got = _run("""
        import json, sys
        from executor.heap import freeze_heap, IMMORTAL_REFCOUNT
        table = {"key": [1.5, "x" * 40]}   # a container, a float and a runtime string
        def func(a):
            return a + 1
        changed = freeze_heap()
        print(json.dumps({"changed": changed, "counts": [sys.getrefcount(o) for o in
                          (table, table["key"], table["key"][0], table["key"][1], func, func.__code__)]}))
    """)
    if IMMORTALS:
        assert got["changed"] > 1000  # the runtime itself, not just our few objects
        assert got["counts"] == [IMMORTAL_REFCOUNT] * 6
    else:  # CPython 3.11: no immortal objects; only the collector freeze happens
        assert got["changed"] == 0
        assert all(c < 100 for c in got["counts"])


def test_a_frozen_heap_still_works_in_the_zygote_and_in_its_forks():
    got = _run("""
        import gc, json, os
        from executor.heap import freeze_heap
        shared = {"items": list(range(10))}
        class Thing:
            def __init__(self, n):
                self.n = n
        freeze_heap()
        shared["items"].append(10)             # frozen objects stay mutable
        del shared["items"][0]
        made = [Thing(i) for i in range(1000)]  # new objects are ordinary: created and freed
        del made
        gc.collect()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:                            # a worker: reads and changes what it inherited
            shared["items"].append(sum(shared["items"]))
            os.write(w, json.dumps(shared["items"][-1]).encode())
            os._exit(0)
        os.waitpid(pid, 0)
        child_sum = json.loads(os.read(r, 100))
        print(json.dumps({"items": shared["items"], "child_sum": child_sum}))
    """)
    assert got["items"] == list(range(1, 11))  # the child's append stayed in the child
    assert got["child_sum"] == sum(range(1, 11))

