"""Every limit: its own status, a message a model can act on, and the session still usable."""
from __future__ import annotations

import time

import pytest

from sandcell.client import Limits, SessionNotFound
from sandcell.local import ExecutorProcess

pytestmark = pytest.mark.usefixtures("service_intact")


def test_soft_timeout_raises_inside_code_and_keeps_state(client):
    with client.create_session(limits=Limits(wall_timeout_ms=1_000)) as s:
        r = s.execute("progress = 0\nimport time\nwhile True:\n    progress += 1\n    time.sleep(0.01)")
        assert r.status == "timeout" and r.error.type == "TimeoutError"
        assert "wall-clock limit of 1 s" in r.message and "are kept" in r.message and not r.restored
        assert s.execute("progress > 10").value.python() is True
        r = s.execute("try:\n    time.sleep(5)\nexcept TimeoutError:\n    caught = True\ncaught")
        assert r.value.python() is True  # the code can handle its own timeout


def test_hard_timeout_kills_c_level_loop_and_restores(client):
    with client.create_session(limits=Limits(wall_timeout_ms=1_000)) as s:
        s.execute("before = [1, 2, 3]\ndef helper(n):\n    return n + 1")
        t0 = time.monotonic()
        r = s.execute("sum(range(10**12))")
        assert time.monotonic() - t0 < 10
        assert r.status == "timeout" and r.restored and "killed" in r.message and "are kept" not in r.message
        r2 = s.execute("helper(before[-1])")
        assert r2.ok and r2.value.python() == 4
        assert client.get_session(s.id).restore_count == 1


def test_cpu_limit_per_execute(client):
    with client.create_session(limits=Limits(cpu_per_execute_ms=500, wall_timeout_ms=20_000)) as s:
        r = s.execute("n = 0\nwhile True:\n    n += 1")
        assert r.status == "cpu_limit" and "CPU" in r.message
        assert s.execute("n > 0").value.python() is True


def test_memory_limit_gives_memory_status(client):
    with client.create_session(limits=Limits(memory_bytes=256 << 20)) as s:
        s.execute("small = 'kept'")
        r = s.execute("big = bytearray(1 << 30)")
        assert r.status == "memory_limit" and "memory" in r.message
        assert s.execute("small").value.python() == "kept"


def test_output_limit_truncates_and_stops(client):
    with client.create_session(limits=Limits(output_bytes=1000)) as s:
        r = s.execute("i = 0\nwhile True:\n    print('x' * 50)\n    i += 1")
        assert r.status == "output_limit" and r.output_truncated
        assert len(r.stdout.encode()) <= 1000 and r.stdout.startswith("x" * 50)
        r = s.execute("print('ok')", output_bytes=5000)
        assert r.ok and r.stdout == "ok\n" and not r.output_truncated


def test_file_size_limit(client):
    with client.create_session(limits=Limits(file_size_bytes=1 << 20)) as s:
        r = s.execute("with open('big.bin', 'wb') as f:\n    f.write(b'0' * (4 << 20))")
        assert r.status == "disk_limit", r
        assert s.execute("with open('small.txt', 'w') as f:\n    f.write('hi')\nopen('small.txt').read()").value.python() == "hi"


def test_workdir_bytes_limit(client):
    with client.create_session(limits=Limits(workdir_bytes=2 << 20, file_size_bytes=1 << 20)) as s:
        r = s.execute("for i in range(4):\n    with open(f'part{i}', 'wb') as f:\n        f.write(b'1' * 1000_000)")
        assert r.status == "disk_limit" and "work dir now holds" in r.message
        r = s.execute("for i in range(4):\n    open(f'part{i}', 'w').close()")  # emptying files frees the space
        assert r.ok, r


def test_a_handle_kept_from_an_earlier_execute_still_counts_against_the_work_dir(client):
    with client.create_session(limits=Limits(workdir_bytes=2 << 20, file_size_bytes=1 << 20)) as s:
        assert s.execute("handles = [open(f'kept{i}', 'wb') for i in range(3)]").ok
        r = s.execute("for h in handles:\n    h.write(b'1' * 1000_000)\n    h.flush()")
        assert r.status == "disk_limit" and "work dir now holds" in r.message


def test_files_a_killed_execute_wrote_are_measured_after_the_restore(client):
    with client.create_session(limits=Limits(workdir_bytes=2 << 20, file_size_bytes=1 << 20,
                                             wall_timeout_ms=1_000)) as s:
        r = s.execute("for i in range(3):\n    with open(f'p{i}', 'wb') as f:\n        f.write(b'1' * 1000_000)\n"
                      "sum(range(10**12))")  # a C-level loop: the worker is killed, then restored
        assert r.status == "timeout" and r.restored, r
        r = s.execute("1")
        assert r.status == "disk_limit" and "work dir now holds" in r.message, r


def test_open_files_limit(client):
    with client.create_session(limits=Limits(open_files=32)) as s:
        r = s.execute("handles = []\nfor i in range(100):\n    handles.append(open(f'f{i}', 'w'))")
        assert r.status == "open_files_limit" and "Close files" in r.message


def test_session_cpu_budget(client):
    with client.create_session(limits=Limits(session_cpu_ms=1_500, wall_timeout_ms=20_000)) as s:
        statuses = [s.execute("n = 0\nfor i in range(10**8):\n    n += i").status for _ in range(4)]
        assert "cpu_limit" in statuses
        r = s.execute("1")
        assert r.status == "cpu_limit" and "whole CPU allowance" in r.message


def test_idle_ttl_closes_session(client):
    s = client.create_session(limits=Limits(idle_ttl_ms=1_000))
    s.execute("x = 1")
    time.sleep(3.5)
    with pytest.raises(SessionNotFound):
        s.execute("x")


def test_no_child_processes_and_thread_of_control_kept(client):
    with client.create_session() as s:
        r = s.execute("import os")
        assert r.status == "error" and "os" in r.error.message


def test_restore_after_worker_killed_from_outside():
    """SIGKILL the worker between executes: the next execute restores the checkpoint."""
    proc = ExecutorProcess()
    try:
        from sandcell.client import ExecutorClient
        with ExecutorClient(proc.address) as c:
            s = c.create_session()
            s.execute("import math\nclass P:\n    def __init__(self, v):\n        self.v = v\n"
                      "points = [P(i) for i in range(3)]\ngen = (i for i in range(3))\nscale = math.pi")
            s.execute("None")  # returns once the checkpoint of the execute above is saved
            workers = proc.session_workers()
            assert len(workers) == 1
            workers[0].kill()
            workers[0].wait(5)
            r = s.execute("[p.v for p in points], round(scale, 2)")
            assert r.ok and r.restored and r.value.python() == [[0, 1, 2], 3.14]
            assert "gen" in r.lost_names
            assert s.execute("gen").error.type == "NameError"
    finally:
        proc.stop()
