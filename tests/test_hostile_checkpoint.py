"""A session's checkpoint against its own session (issue 10): the checkpoint is the session's
data, so it is as hostile as its code. Sessions here may import `os`, so they can write any
bytes to their checkpoint descriptor and die before the worker saves over them; the restore
then loads exactly those bytes.

Restores resolve only what the session itself could import, run within the execute's wall
limit, and report honestly what they lost; each session's checkpoint space is its own."""
from __future__ import annotations

import time

import pytest

from sandcell.client import Limits
from tests.hostile import (CKPT_FD, call_op, module_op, namespace_pickle, write_checkpoint_code)

MiB = 1 << 20


def _restore_from(s, pickled: bytes):
    """Plants a checkpoint in the session and dies unsaved: the result is that of the restore."""
    s.execute("x = 1")
    return s.execute(write_checkpoint_code(pickled))


def test_cloudpickle_import_helpers_are_refused(hostile, intact):
    # cloudpickle's subimport("sys") would hand later cells the real sys (and its builtins).
    _proc, c, _ = hostile
    with c.create_session() as s:
        r = _restore_from(s, namespace_pickle({
            "real_sys": call_op("cloudpickle.cloudpickle", "subimport", (b"sys",)),
            "dyn": call_op("cloudpickle.cloudpickle", "dynamic_subimport", (b"builtins", 0))}))
        assert r.restored and r.state_lost and "empty namespace" in r.message, r
        r = s.execute("real_sys")
        assert r.error and r.error.type == "NameError", r


def test_the_real_module_behind_an_allowed_one_is_not_reachable(hostile, intact):
    # `os` is allowed, but as the policy's filtered copy (no os._exit): a checkpoint gets no more.
    _proc, c, _ = hostile
    with c.create_session() as s:
        assert s.execute("import os\nos._exit").error.type == "AttributeError"
        r = _restore_from(s, namespace_pickle({"f": call_op("os", "_exit", (0,))}))
        assert r.state_lost and "os._exit" in r.message, r
        assert s.execute("1").ok


def test_a_module_it_may_not_import_is_lost_alone(hostile, intact):
    _proc, c, _ = hostile
    with c.create_session() as s:
        r = _restore_from(s, namespace_pickle({"keep": 5, "m": module_op("sys"), "also": 6}))
        assert r.restored and not r.state_lost and r.lost_names == ("m",), r
        assert "m" in r.message
        assert s.execute("keep + also").value.python() == 11


def test_a_load_that_blocks_is_cut_at_the_wall_limit(hostile, intact):
    _proc, c, _ = hostile
    with c.create_session(limits=Limits(wall_timeout_ms=1_000)) as s:
        t0 = time.monotonic()
        r = _restore_from(s, namespace_pickle({"z": call_op("time", "sleep", (600,))}))
        assert time.monotonic() - t0 < 12, "the checkpoint's code outlived the execute's limits"
        assert r.restored and r.state_lost, r
        assert s.execute("2 + 2").value.python() == 4


def test_a_load_that_spins_is_cut_at_the_cpu_limit(hostile, intact):
    _proc, c, _ = hostile
    with c.create_session(limits=Limits(wall_timeout_ms=10_000, cpu_per_execute_ms=300)) as s:
        t0 = time.monotonic()
        r = _restore_from(s, namespace_pickle({"z": call_op("builtins", "pow", (7, 1 << 27))}))
        assert time.monotonic() - t0 < 8, "the checkpoint's code outlived the execute's CPU limit"
        assert r.restored and r.state_lost, r
        assert s.execute("2 + 2").value.python() == 4


def test_each_session_writes_only_its_own_checkpoint_budget(hostile, intact):
    _proc, c, _ = hostile
    with c.create_session() as s:
        # Raw writes past the session's checkpoint space fail: it is sealed at its size.
        r = s.execute(f"import os\nsize = os.fstat({CKPT_FD}).st_size\n"
                      f"try:\n    os.pwrite({CKPT_FD}, b'x' * 4096, size)\n    grew = True\n"
                      "except OSError as e:\n    grew = e.errno\n[size, grew]")
        size, grew = r.value.python()
        assert 0 < size <= 64 * MiB and grew is not True, r
        # Honest state bigger than the budget: the result that produced it says it isn't protected.
        r = s.execute(f"big = 'x' * {size + MiB}\nlen(big)")
        assert r.ok and r.value.python() == size + MiB
        assert "not protected" in r.checkpoint_error and "exceeds" in r.checkpoint_error, r
        r = s.execute("small = 1")
        assert r.ok and r.checkpoint_error, r  # still too big: still said
        r = s.execute("del big")
        assert r.ok and not r.checkpoint_error, r
