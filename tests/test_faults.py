"""Lifecycle under faults, against real servers of their own (each test may break one):
sessions closed while they execute, callers that go away, a dead zygote, a dead server."""
from __future__ import annotations

import threading
import time

import pytest

from sandcell.client import ExecutorClient, Limits, SessionClosed
from sandcell.local import ExecutorProcess

SPARES = 2  # executor.zygote.SPARES


def _wait(predicate, timeout_s: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def server():
    proc = ExecutorProcess("--import-ceiling", "os", "--max-sessions", "20", "--log-json", "false")
    yield proc
    proc.stop()


def _spare_pids(server) -> set[int]:
    """Zygote children that hold no session: still in the zygote's directory."""
    zygote = server.zygote()
    out = set()
    for child in zygote.children():
        try:
            if child.cwd() == zygote.cwd():
                out.add(child.pid)
        except Exception:  # exited meanwhile
            pass
    return out


def _served_by_spare(server, client) -> bool:
    """Whether a new session is served by a spare that was waiting before it was asked for
    (the fast path: no fork on the create's path)."""
    before = _wait(lambda: p if len(p := _spare_pids(server)) >= SPARES else None, what="spares refilled")
    with client.create_session(extra_imports=["os"]) as s:
        pid = s.execute("import os\nos.getpid()").value.python()
    return pid in before


def _execute_in_thread(session, code: str) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = session.execute(code)
        except Exception as exc:  # what the test asserts on
            outcome["error"] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _wait_busy(client, sid):
    _wait(lambda: client.get_session(sid).state == "busy", what="session busy")


def test_close_mid_execute_is_session_closed_and_spares_stay(server):
    """CloseSession from another client while a cell runs: the running caller gets one typed
    SessionClosed (ABORTED, SESSION_CLOSED); 50 times over, the spare pool stays intact."""
    assert _served_by_spare(server, ExecutorClient(server.address))
    with ExecutorClient(server.address) as runner, ExecutorClient(server.address) as closer:
        for i in range(50):
            s = runner.create_session()
            code = "while True:\n    pass" if i % 2 else "import time\ntime.sleep(30)"
            thread, outcome = _execute_in_thread(s, code)
            _wait_busy(closer, s.id)
            closer.close_session(s.id)
            thread.join(10)
            assert not thread.is_alive()
            err = outcome.get("error")
            assert isinstance(err, SessionClosed), outcome
            assert err.reason == "SESSION_CLOSED" and "closed" in err.message
        assert runner.list_sessions() == []
        assert _served_by_spare(server, runner), "a create after the closes forked on its path: spares were lost"
        assert runner.health()
    assert "Traceback" not in server.log()


def test_max_lifetime_mid_execute_is_session_closed(server):
    with ExecutorClient(server.address) as client:
        s = client.create_session(limits=Limits(max_lifetime_ms=1_000))
        started = time.monotonic()
        with pytest.raises(SessionClosed) as info:
            s.execute("import time\ntime.sleep(20)")
        assert time.monotonic() - started < 5
        assert info.value.reason == "SESSION_CLOSED"
        assert s.id not in [i.session_id for i in client.list_sessions()]
        assert _served_by_spare(server, client)


# -- a caller that goes away stops its cell --

def _idle_within(client, sid, budget_s: float) -> float:
    """Seconds until the session is idle again; fails past budget_s."""
    started = time.monotonic()
    _wait(lambda: client.get_session(sid).state == "idle", timeout_s=budget_s + 5, what="session idle")
    elapsed = time.monotonic() - started
    assert elapsed < budget_s, f"session still busy {elapsed:.2f} s after its caller went away"
    return elapsed


def _raw_execute(client, sid: str, code: str):
    """An Execute stream through the generated stub, so the test can cancel it mid-cell."""
    import queue

    from sandcell.executor.v1 import executor_pb2 as pb
    from sandcell.executor.v1 import executor_pb2_grpc as pb_grpc
    outbox: queue.SimpleQueue = queue.SimpleQueue()
    outbox.put(pb.ExecuteRequest(start=pb.ExecuteStart(session_id=sid, code=code)))
    stub = pb_grpc.ExecutorServiceStub(client._channel)
    call = stub.Execute(iter(outbox.get, None))
    return call, outbox


@pytest.mark.parametrize("cell, kept", [
    ("x = 2\nwhile True:\n    pass", 2),  # the soft interrupt stops it; what it assigned stays
    ("x = 2\nwhile True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass", 1),
    ("x = 2\nimport time\nwhile True:\n    try:\n        time.sleep(10)\n    except BaseException:\n        pass", 1),
], ids=["loop", "loop-swallowing", "sleep-swallowing"])
def test_cancelled_stream_stops_the_cell(server, cell, kept):
    """Cancel the stream mid-cell: within 0.5 s the session is free (no SESSION_BUSY), the
    concurrent-execute slot is back, and the session holds its state (a cell that swallows the
    soft interrupt is killed and restored to its last checkpoint)."""
    with ExecutorClient(server.address) as client, client.create_session() as s:
        s.execute("x = 1")
        call, outbox = _raw_execute(client, s.id, cell)
        _wait_busy(client, s.id)
        time.sleep(0.2)  # well inside the cell
        call.cancel()
        outbox.put(None)
        _idle_within(client, s.id, 0.5)
        r = s.execute("x")
        assert r.ok and r.value.python() == kept, r


def test_client_deadline_stops_a_sleeping_cell(server):
    with ExecutorClient(server.address) as client, client.create_session() as s:
        with pytest.raises(Exception) as info:
            s.execute("import time\ntime.sleep(20)", timeout_s=1)
        assert "DEADLINE" in str(getattr(info.value, "code", "")) or "Deadline" in str(info.value)
        _idle_within(client, s.id, 0.5)
        with pytest.raises(Exception):
            client.execute_unary(s.id, "import time\ntime.sleep(20)", timeout_s=1)
        _idle_within(client, s.id, 0.5)
        assert s.execute("1 + 1").value.python() == 2


def test_closed_channel_stops_the_cell(server):
    with ExecutorClient(server.address) as keeper:
        s = keeper.create_session()
        gone = ExecutorClient(server.address)
        _call, _outbox = _raw_execute(gone, s.id, "while True:\n    pass")
        _wait_busy(keeper, s.id)
        gone.close()
        _idle_within(keeper, s.id, 0.5)
        assert keeper.execute(s.id, "2 + 2").value.python() == 4
        keeper.close_session(s.id)


# -- nothing of ours outlives the server --

_STUBBORN_CELLS = (
    "import time\ntime.sleep(8)",
    "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass",
    "import time\nwhile True:\n    try:\n        time.sleep(10)\n    except BaseException:\n        pass",
)


def _running(process) -> bool:
    """Still running: a zombie has exited (whoever adopted it has just not reaped it yet)."""
    import psutil
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_no_process_survives_a_killed_server(tmp_path):
    """kill -9 the server while cells sleep, spin and swallow every exception: within 1 s no
    descendant is left; a server started next removes the dead one's checkpoints and work
    dirs, which were private (0700) meanwhile."""
    import os
    import signal
    import stat

    import psutil
    env = {"TMPDIR": str(tmp_path)}
    proc = ExecutorProcess("--log-json", "false", env=env)
    try:
        with ExecutorClient(proc.address) as client:
            sessions = [client.create_session() for _ in _STUBBORN_CELLS]
            for s in sessions:
                s.execute("x = 1")
            calls = [_raw_execute(client, s.id, cell) for s, cell in zip(sessions, _STUBBORN_CELLS)]
            for s in sessions:
                _wait_busy(client, s.id)
            time.sleep(0.3)
            descendants = psutil.Process(proc.pid).children(recursive=True)
            assert len(descendants) >= 1 + len(sessions)  # the zygote, the workers (and spares)
            left = sorted(p.name for p in tmp_path.iterdir())
            assert any(n.startswith("sandcell-state-") for n in left)
            assert any(n.startswith("sandcell-sessions-") for n in left)
            for path in tmp_path.iterdir():
                if path.name.startswith("sandcell-"):
                    # Under root, per-session uids must pass through the sessions dir: x only.
                    private = 0o711 if os.geteuid() == 0 and "sessions" in path.name else 0o700
                    assert stat.S_IMODE(path.stat().st_mode) == private, path
                    for inner in path.iterdir():
                        if inner.is_dir():
                            assert stat.S_IMODE(inner.stat().st_mode) == 0o700, inner
                        else:
                            assert stat.S_IMODE(inner.stat().st_mode) & 0o077 == 0, inner
            os.kill(proc.pid, signal.SIGKILL)
            proc.proc.wait()
            killed = time.monotonic()
            alive = descendants
            while alive and time.monotonic() - killed < 1.0:
                alive = [p for p in alive if _running(p)]
                time.sleep(0.02)
            assert not alive, f"alive {time.monotonic() - killed:.2f} s after the server: {alive}"
            for call, _outbox in calls:
                call.cancel()
    finally:
        proc.stop()
    assert any(p.name.startswith("sandcell-state-") for p in tmp_path.iterdir())  # SIGKILL: nothing cleaned
    successor = ExecutorProcess("--log-json", "false", env=env)
    try:
        left = [p.name for p in tmp_path.iterdir() if p.name.startswith("sandcell-")]
        assert len(left) == 2, left  # only the successor's own state and sessions dirs
    finally:
        successor.stop()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("sandcell-")]
    assert " ERROR " not in successor.log(), "a normal shutdown logged an error:\n" + successor.log()


# -- the zygote dies --

def test_zygote_death_flips_health_and_creates_recover(tmp_path):
    """Kill the zygote: health (the server's and the service's, and the container's
    healthcheck command) says NOT_SERVING while it restarts; then creates succeed again and an
    existing session comes back with its state."""
    import signal

    from executor.healthcheck import main as healthcheck
    from executor.server import SERVICE_NAME
    with ExecutorProcess("--log-json", "false", env={"TMPDIR": str(tmp_path)}) as proc, \
            ExecutorClient(proc.address) as client:
        kept = client.create_session()
        kept.execute("x = 41")
        kept.execute("None")
        for round_ in range(2):  # the restarted zygote is supervised too
            zygote = proc.zygote()
            zygote.send_signal(signal.SIGKILL)
            _wait(lambda: not client.health() and not client.health(SERVICE_NAME), timeout_s=5,
                  what="health NOT_SERVING after the zygote died")
            assert healthcheck(["--address", proc.address]) == 1
            _wait(lambda: client.health() and client.health(SERVICE_NAME), timeout_s=30, what="health SERVING again")
            assert proc.zygote().pid != zygote.pid
            with client.create_session() as s:
                assert s.execute("1 + 1").value.python() == 2
            r = kept.execute("x = x + 1\nx")
            assert r.ok and r.value.python() == 42 + round_ and r.restored, r
            kept.execute("None")  # the worker takes it once its checkpoint of x is saved
        assert healthcheck(["--address", proc.address]) == 0
