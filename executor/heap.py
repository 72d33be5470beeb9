"""Freezing the zygote's heap before it forks, so workers share its pages instead of copying them.

A page stays shared until someone writes to it, and CPython writes to an object every time it
takes or drops a reference to it (the reference count lives in the object). So a worker that
merely *reads* the runtime, its modules and the policy still copies every page those objects
sit on. Two things stop that:

- `gc.freeze()` moves everything into a generation the collector never walks (it would write
  to every object's GC header).
- On CPython 3.12+, objects can be *immortal* (PEP 683): their reference count is a sentinel
  that INCREF and DECREF leave alone. The interpreter makes its own static objects immortal;
  we do the same for every object the zygote holds when it is ready to fork. This is the
  "immortalize the heap before forking" use that PEP 683 describes. Those objects are then
  never freed, which is what the zygote wants: it holds them for its whole life anyway.
  CPython 3.11 has no immortal objects, so there this step does nothing.

Only the zygote calls this, once, after importing everything and before the first fork.
"""
from __future__ import annotations

import ctypes
import gc
import sys
import sysconfig
import types

__all__ = ["freeze_heap", "IMMORTAL_REFCOUNT"]

# What CPython stores in ob_refcnt of an immortal object (None is immortal from 3.12 on).
# On 3.11 this is an ordinary count, far below the sentinel, and immortality is unavailable.
IMMORTAL_REFCOUNT = sys.getrefcount(None) if sys.implementation.name == "cpython" else 0
# Free-threaded builds keep their counts elsewhere in the object: leave them alone.
_HAS_IMMORTALS = (sys.version_info >= (3, 12) and IMMORTAL_REFCOUNT >= 1 << 31
                  and not sysconfig.get_config_var("Py_GIL_DISABLED"))


def _code_parts(code: types.CodeType) -> tuple:
    # Code objects are not GC containers: gc.get_referents() sees nothing inside them.
    return (code.co_consts, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
            code.co_filename, code.co_name, code.co_qualname, code.co_linetable,
            code.co_exceptiontable)


def _immortalize_all() -> int:
    """Marks every object reachable from the GC's lists immortal; returns how many it changed."""
    cell = ctypes.c_ssize_t
    seen: set[int] = set()
    todo = gc.get_objects()
    changed = 0
    while todo:
        obj = todo.pop()
        key = id(obj)
        if key in seen:
            continue
        seen.add(key)
        if sys.getrefcount(obj) < IMMORTAL_REFCOUNT:
            cell.from_address(key).value = IMMORTAL_REFCOUNT
            changed += 1
        todo.extend(gc.get_referents(obj))
        if type(obj) is types.CodeType:
            todo.extend(_code_parts(obj))
    return changed


def freeze_heap() -> int:
    """Collect, immortalize (3.12+), freeze. Returns how many objects were made immortal."""
    gc.collect()
    changed = _immortalize_all() if _HAS_IMMORTALS else 0
    gc.freeze()
    return changed
