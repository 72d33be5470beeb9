"""The jail and the server with the language policy OFF (issue 10): sessions here run arbitrary
Python (dunders, the real builtins and modules, pickling hooks), as they would after a policy
bypass. Run against a local server and against the container (executor/policy/off.py says how
the switch is kept out of production; tests/docker/compose.policy-off.yaml turns it on).

After each test: the service is healthy, another session kept its state (and locally: its
checkpoint byte for byte, and the zygote is the same process holding spares)."""
from __future__ import annotations

import time

import pytest

from sandcell.client import ExecutorClient, Limits, ToolSpec
from sandcell.local import ExecutorProcess
from tests.conftest import TARGETS
from tests.hostile import CHAN_FD, CKPT_FD, MALFORMED, frame, service_kept

UNSAFE = {"SANDCELL_UNSAFE_TEST_MODE": "policy-off"}


@pytest.fixture(scope="module", params=TARGETS)
def unpoliced(request):
    """(local ExecutorProcess or None for the container, client, bystander session)."""
    if request.param == "docker":
        request.getfixturevalue("executor_image")
        from tests.docker.stack import compose_stack
        with compose_stack("policyoff", "", max_sessions=20, extra_files=("compose.policy-off.yaml",)) as running, \
                ExecutorClient(running.address, timeout_s=90) as c:
            yield None, c, _bystander(c)
    else:
        with ExecutorProcess("--test-policy-off", "true", env=UNSAFE) as proc, \
                ExecutorClient(proc.address, timeout_s=90) as c:
            yield proc, c, _bystander(c)


def _bystander(c):
    s = c.create_session()
    assert s.execute("kept = {'n': 4242}\nkept['n']").value.python() == 4242
    return s


@pytest.fixture
def intact(unpoliced):
    proc, c, other = unpoliced
    with service_kept(proc, c, other, "kept['n']", 4242):
        yield


def test_the_policy_is_really_off(unpoliced, intact):
    _proc, c, _ = unpoliced
    with c.create_session() as s:
        r = s.execute("import os\n(().__class__.__base__.__name__, os._exit.__name__)")
        assert r.ok and r.value.python() == ["object", "_exit"], r


def test_the_switch_is_refused_without_the_unsafe_environment():
    with pytest.raises(RuntimeError, match="SANDCELL_UNSAFE_TEST_MODE"):
        ExecutorProcess("--test-policy-off", "true", timeout_s=30)


def test_the_switch_is_refused_where_the_production_marker_exists(tmp_path):
    from executor.policy.off import policy_off_permitted
    marker = tmp_path / "production"
    assert policy_off_permitted(UNSAFE, str(marker)) is None
    marker.write_text("")
    assert "production" in policy_off_permitted(UNSAFE, str(marker))
    assert policy_off_permitted({}, str(tmp_path / "absent"))


@pytest.mark.skipif("docker" not in TARGETS, reason="the container target is not selected (make test-fast)")
def test_the_production_image_refuses_the_switch(executor_image):
    # Both variables set, as an operator might by mistake: the image's marker still refuses it.
    import subprocess
    run = subprocess.run(["docker", "run", "--rm", "-e", "SANDCELL_TEST_POLICY_OFF=true",
                          "-e", "SANDCELL_UNSAFE_TEST_MODE=policy-off", executor_image],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "/etc/sandcell/production" in run.stderr, run


@pytest.mark.parametrize("forged", MALFORMED.values(), ids=MALFORMED.keys())
def test_forged_frames(unpoliced, intact, forged):
    _proc, c, _ = unpoliced
    with c.create_session(limits=Limits(wall_timeout_ms=5_000), tools=[ToolSpec("lookup")]) as s:
        s.execute("kept = 'yes'")
        r = s.execute(f"import os, time\nos.write({CHAN_FD}, {forged!r})\ntime.sleep(3)",
                      tools={"lookup": lambda **kw: "answer"})
        assert r.status == "killed" and r.restored and "protocol" in r.message, r
        assert s.execute("kept").value.python() == "yes"


FORGE_READY = """
import os, json, struct
class Forge:
    def __init__(self, pid):
        self.pid = pid
    def __reduce__(self):
        body = json.dumps({"op": "ready", "pid": self.pid, "restored": True, "lost_names": [],
                           "restore_error": ""}).encode()
        return (os.write, (%d, struct.pack("!I", len(body)) + body))
class Die:
    def __reduce__(self):
        return (os.abort, ())
forged, die = Forge(%s), Die()
"""


@pytest.mark.parametrize("victim", ["-1", "1", "os.getppid()", "os.getpid()"])
def test_a_checkpoint_that_forges_a_ready_pid(unpoliced, intact, victim):
    # Saved by the worker itself after an ordinary execute; when loaded, it names the pid
    # (everyone, init, the zygote, itself) and dies. Nothing may be signalled by that pid.
    proc, c, _ = unpoliced
    if victim in ("-1", "1") and proc is not None:
        pytest.skip("kill(-1) from a regressed local server would reach every process of this user; "
                    "this pid runs in the container, where it can reach only the container")
    s = c.create_session(limits=Limits(wall_timeout_ms=5_000))
    assert s.execute(FORGE_READY % (CHAN_FD, victim)).ok
    r = s.execute("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert r.status == "killed" and r.restored and r.state_lost, r
    s.close()


SIGNALS = {
    "the zygote": "os.kill(os.getppid(), signal.SIGKILL)",
    "everyone": "os.kill(-1, signal.SIGKILL)",
    "init": "os.kill(1, signal.SIGTERM)",
    "the zygote's group": "os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)",
    # its own group holds only itself (setsid in the jail): it dies alone and is restored
    "its own group": "os.kill(0, signal.SIGKILL)",
}


@pytest.mark.parametrize("call", SIGNALS.values(), ids=SIGNALS.keys())
def test_signals_reach_no_other_process(unpoliced, intact, call):
    _proc, c, _ = unpoliced
    with c.create_session() as s:
        s.execute("kept = 1")
        r = s.execute(f"import os, signal\n{call}")
        if "os.kill(0," in call:
            assert r.status == "killed" and r.restored and s.execute("kept").ok, r
        else:
            assert r.error and r.error.type in ("PermissionError", "ProcessLookupError"), r


def test_a_worker_that_stops_itself_is_killed_at_the_deadline(unpoliced, intact):
    _proc, c, _ = unpoliced
    with c.create_session(limits=Limits(wall_timeout_ms=1_000)) as s:
        s.execute("kept = 1")
        r = s.execute("import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)")
        assert r.status == "timeout" and r.restored, r
        assert s.execute("kept").value.python() == 1


def test_raw_writes_to_the_checkpoint(unpoliced, intact):
    _proc, c, _ = unpoliced
    with c.create_session() as s:
        s.execute("kept = 1")
        r = s.execute(f"import os\nsize = os.fstat({CKPT_FD}).st_size\n"
                      f"try:\n    os.pwrite({CKPT_FD}, b'x', size)\n    grew = True\nexcept OSError:\n    grew = False\n"
                      f"os.pwrite({CKPT_FD}, os.urandom(8192), 0)\nos.abort()")
        # Its own checkpoint destroyed: the restore says all is lost, and the session works.
        assert r.status == "killed" and r.restored and r.state_lost, r
        assert s.execute("grew").error.type == "NameError"
        assert s.execute("1").ok


def test_a_frame_past_the_size_limit_and_an_output_flood(unpoliced, intact):
    _proc, c, _ = unpoliced
    with c.create_session(limits=Limits(wall_timeout_ms=5_000, output_bytes=1000)) as s:
        s.execute("kept = 1")
        body = frame({"op": "out", "stream": "stdout", "text": "y" * 1000})
        r = s.execute(f"import os\nfor _ in range(5000):\n    os.write({CHAN_FD}, {body!r})\n'done'")
        assert r.ok and r.output_truncated and len(r.stdout) <= 1000, (r.status, len(r.stdout))
        r = s.execute(f"import os, struct, time\nos.write({CHAN_FD}, struct.pack('!I', (16 << 20) + 1) + b'{{')\n"
                      "time.sleep(3)")
        assert r.status == "killed" and r.restored, r
        assert s.execute("kept").value.python() == 1


SLOW = {
    "a frame trickled byte by byte": f"os.write({CHAN_FD}, b'\\x00\\x00\\x01\\x00')\n"
                                     f"for _ in range(256):\n    os.write({CHAN_FD}, b' ')\n    time.sleep(0.5)",
    "a channel it never reads": f"os.write({CHAN_FD}, {frame({'op': 'result', 'status': 'ok', 'message': ''})!r})\n"
                                "time.sleep(60)",
}


@pytest.mark.parametrize("code", SLOW.values(), ids=SLOW.keys())
def test_slow_loris_on_the_channel(unpoliced, intact, code):
    _proc, c, _ = unpoliced
    with c.create_session(limits=Limits(wall_timeout_ms=1_000)) as s:
        s.execute("kept = 1")
        t0 = time.monotonic()
        r = s.execute("import os, signal, time\n"
                      "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGPROF})\n" + code)
        if r.ok:  # it forged a result and went on without reading: the next execute must not hang
            r = s.execute("kept\n" + "#" * 900_000)
        assert time.monotonic() - t0 < 30, "a slow channel outlived the deadline"
        assert r.status == "timeout" and r.restored, r
        assert s.execute("kept").value.python() == 1


HOSTILE_SAVE = """
class Bad:
    def __reduce__(self):
        %s
bad = Bad()
"""


def test_a_value_whose_save_fails_is_reported_and_clipped(unpoliced, intact):
    proc, c, _ = unpoliced
    with c.create_session() as s:
        s.execute("kept = 1")
        r = s.execute(HOSTILE_SAVE % "raise ValueError('\\x1b[2J' + 'e' * (8 << 20))")
        # Dropped as a lost name: the rest is protected; the checkpoint still saves.
        assert r.ok and not r.checkpoint_error, r
        r = s.execute("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
        assert r.restored and r.lost_names == ("bad",) and not r.state_lost, r
        if proc:
            lines = [line for line in proc.log().splitlines() if s.id in line]
            assert max(map(len, lines)) < 4096 and all("\x1b" not in line for line in lines)


def test_a_save_that_never_ends_falls_under_the_deadline(unpoliced, intact):
    _proc, c, _ = unpoliced
    with c.create_session(limits=Limits(wall_timeout_ms=1_000)) as s:
        s.execute("kept = 1")
        t0 = time.monotonic()
        r = s.execute(HOSTILE_SAVE % "import time\n        while True:\n            time.sleep(1)")
        assert time.monotonic() - t0 < 20
        assert r.status == "timeout" and r.restored, r
        assert s.execute("kept").value.python() == 1
