"""The server against a hostile worker (issue 10): every byte a worker sends is the
attacker's, including its pid. These run on a local server whose sessions may import `os`
(an operator's widened allowlist): the language policy then no longer stands between the
code and its own process, its channel or its checkpoint descriptor.

After each test: the service is healthy, the zygote is the same process with its spares,
and another session kept both its state and its checkpoint (fixtures `hostile` and `intact` in conftest.py)."""
from __future__ import annotations

import os
import time

import psutil
import pytest

from executor.procs import ChildProcess, signalable

from sandcell.client import Limits, ToolSpec
from tests.hostile import MALFORMED, RESULT, calls_pickle, frame, write_checkpoint_code, zygote_state, CHAN_FD


def _forged_ready_checkpoint(pid: int) -> bytes:
    """A checkpoint whose loading sends a ready naming `pid`, then kills its loader."""
    ready = frame({"op": "ready", "pid": pid, "restored": True, "lost_names": [], "restore_error": ""})
    return calls_pickle([("a", "os", "write", (CHAN_FD, ready)), ("b", "os", "abort", ())])


@pytest.mark.parametrize("victim", ["zygote", "server"])
def test_a_forged_ready_pid_is_never_signalled(hostile, intact, victim):
    proc, c, _ = hostile
    pid = zygote_state(proc.pid)[0] if victim == "zygote" else proc.pid
    s = c.create_session(limits=Limits(wall_timeout_ms=5_000))
    s.execute("x = 1")
    r = s.execute(write_checkpoint_code(_forged_ready_checkpoint(pid)))
    after = s.execute("y = 2\ny")
    s.close()  # where the server used to SIGKILL the pid the forged ready named
    assert psutil_alive(pid), f"the {victim} was killed"
    # The worker died (SIGABRT) and its restore forged a ready: the checkpoint is dropped,
    # and the result says every name is lost (not "restored" with nothing lost).
    assert r.status == "killed" and r.restored and r.state_lost, r
    assert "empty namespace" in r.message, r.message
    assert "not its own" in proc.log(), "the forged ready was never read: the test tested nothing"
    assert after.ok and after.value.python() == 2, after


def psutil_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("pid", [-1, 0, 1, os.getpid(), os.getpgrp(), "7", 2.0])
def test_no_handle_is_made_for_a_pid_that_could_reach_more_than_one_child(pid):
    # pid -1 is "every process we may signal", 0 and -pgid whole groups, 1 init: never a worker.
    with pytest.raises(ValueError):
        ChildProcess(pid, None)
    assert not signalable(pid)


# -- item 2: every message is checked; a malformed one kills the worker, never UNKNOWN --

def _send_code(*frames: bytes, then: str = "import time\ntime.sleep(3)") -> str:
    return f"import os\nfor _f in {list(frames)!r}:\n    os.write({CHAN_FD}, _f)\n{then}"


@pytest.mark.parametrize("forged", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_message_kills_the_worker_with_a_clear_status(hostile, intact, forged):
    proc, c, _ = hostile
    with c.create_session(limits=Limits(wall_timeout_ms=5_000), tools=[ToolSpec("lookup")]) as s:
        s.execute("kept = 'yes'")
        r = s.execute(_send_code(forged), tools={"lookup": lambda **kw: "answer"})
        assert r.status == "killed" and r.restored and "protocol" in r.message, r
        assert s.execute("kept").value.python() == "yes"


def test_a_worker_that_stops_reading_cannot_hold_the_server(hostile, intact):
    # It forges its result and keeps running without reading its channel: the next execute's
    # code (1 MB) overflows the socket buffer. The send must give up at the deadline.
    proc, c, _ = hostile
    with c.create_session(limits=Limits(wall_timeout_ms=2_000)) as s:
        s.execute("kept = 'yes'")
        r = s.execute(_send_code(frame(RESULT), then="import signal, time\n"
                                 "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGPROF})\n"
                                 "time.sleep(60)"))
        assert r.ok, r  # indistinguishable from a real result
        t0 = time.monotonic()
        r = s.execute("kept\n" + "#" * 900_000)
        assert time.monotonic() - t0 < 20, "a worker that never reads held the execute"
        assert r.status == "timeout" and r.restored, r
        assert s.execute("kept").value.python() == "yes"


# -- item 4: the log is not the attacker's to fill --

def _log_lines(proc, session_id: str) -> list[str]:
    return [line for line in proc.log().splitlines() if session_id in line]


def test_a_worker_controlled_string_is_clipped_in_the_log(hostile, intact):
    proc, c, _ = hostile
    with c.create_session(limits=Limits(wall_timeout_ms=5_000)) as s:
        # An 8 MB output stream name (with a terminal escape), built in the sandbox.
        r = s.execute(f"import os, struct\nbody = b'{{\"op\": \"out\", \"stream\": \"\\\\u001b[2J' + b'x' * (8 << 20)"
                      f" + b'\", \"text\": \"hi\"}}'\nos.write({CHAN_FD}, struct.pack('!I', len(body)) + body)\n"
                      "import time\ntime.sleep(3)")
        assert r.status == "killed", r
        lines = _log_lines(proc, s.id)
        assert lines and max(map(len, lines)) < 4096, f"a log line of {max(map(len, lines))} bytes"
        assert all("\x1b" not in line for line in lines), "a control character reached the log"


def test_repeated_lines_about_one_session_are_rate_limited(hostile, intact):
    proc, c, _ = hostile
    with c.create_session() as s:
        for _ in range(12):  # each dies and is restored: one "session restored" line each, unlimited
            assert s.execute("import os\nos.abort()").restored
        restored = [line for line in _log_lines(proc, s.id) if "session_restored" in line]
        assert 1 <= len(restored) <= 6, f"{len(restored)} lines for 12 restores"
