"""State survives a hard kill, and what comes back is still inside the sandbox: restored
functions see the session's namespace and its guarded builtins, not the real ones."""
from __future__ import annotations

import pytest

from sandcell.client import ExecutorClient, Limits
from sandcell.local import ExecutorProcess


@pytest.fixture(scope="module")
def own_server():
    # Our own server: these tests kill workers, and count restores from a clean slate.
    with ExecutorProcess() as proc, ExecutorClient(proc.address) as c:
        yield proc, c


def _kill_worker(proc, session):
    # The worker saves its checkpoint right after sending a result; a no-op execute returns
    # only once that save is done (the worker is sequential), so the kill can't land in it.
    session.execute("None")
    [worker] = proc.session_workers()
    worker.kill()
    worker.wait(5)


def test_restored_functions_share_the_session_namespace(own_server):
    proc, c = own_server
    with c.create_session() as s:
        s.execute("counter = 1\ndef bump():\n    global counter\n    counter += 1\n    return counter\n"
                  "class Box:\n    def __init__(self):\n        self.items = []\n    def add(self, x):\n"
                  "        self.items.append(x)\n        return len(self.items)\nbox = Box()\nbox.add('a')")
        _kill_worker(proc, s)
        r = s.execute("bump(), bump(), counter, box.add('b')")
        assert r.ok and r.restored, r
        assert r.value.python() == [2, 3, 3, 2]  # one namespace: bump() and `counter` agree
        assert s.execute("counter").value.python() == 3


def test_restored_functions_keep_the_sandbox_builtins(own_server):
    proc, c = own_server
    with c.create_session() as s:
        s.execute("def opener():\n    return open\ndef reach(obj, name):\n    return getattr(obj, name)\n"
                  "def importer():\n    import os\n    return os")
        _kill_worker(proc, s)
        r = s.execute("opener()('/etc/passwd')")
        assert r.restored and r.error.type == "PermissionError", r
        r = s.execute("reach(reach, '__glo' + 'bals__')")
        assert r.error.type == "AttributeError", r
        r = s.execute("importer()")
        assert r.error.type == "ModuleNotAllowed", r
        assert s.execute("reach([], 'append')").ok


def test_restore_after_memory_limit_and_crash(own_server):
    _proc, c = own_server
    with c.create_session(limits=Limits(memory_bytes=256 << 20, wall_timeout_ms=5_000)) as s:
        s.execute("import collections\nseen = collections.Counter('hello')")
        r = s.execute("chunks = []\nwhile True:\n    chunks.append(bytearray(16 << 20))")
        assert r.status == "memory_limit"
        assert s.execute("seen['l']").value.python() == 2
        # A crash in C: the worker dies on a signal (stack overflow past the recursion guard
        # is not reachable from the policy, so the server kills it with the hard timeout).
        r = s.execute("sum(range(10**12))", wall_timeout_ms=500)
        assert r.status == "timeout" and r.restored
        assert s.execute("seen.most_common(1)").value.python() == [["l", 2]]


def test_a_save_cut_short_leaves_the_previous_checkpoint(tmp_path):
    # In-process: a worker killed in the middle of a save must not lose the state it had.
    import os
    from executor.policy import Policy, PolicyConfig
    from executor.snapshot import Checkpointer
    policy = Policy(PolicyConfig(allowed_imports=("math",)))
    fd = os.open(tmp_path / "ckpt", os.O_RDWR | os.O_CREAT)
    ns = policy.new_namespace({})
    ck = Checkpointer(fd, frozenset(ns), max_bytes=1 << 20)
    ns["kept"] = list(range(100))
    assert ck.save(ns).saved
    ns["kept"] = "newer"
    assert ck.save(ns).saved
    # The next save dies after writing half its payload, before switching the commit record.
    ns["kept"] = "x" * 5000
    offset = ck._slot(6000)
    os.pwrite(fd, b"\x00garbage" * 300, offset)
    fresh = policy.new_namespace({})
    assert Checkpointer(fd, frozenset(fresh), max_bytes=1 << 20).load(fresh, policy.import_module, policy.allowed)[0]
    assert fresh["kept"] == "newer"
    # A damaged commit record is reported, not unpickled.
    os.pwrite(fd, b"\xff" * 8, 0)
    with pytest.raises(ValueError, match="damaged"):
        Checkpointer(fd, frozenset(fresh), max_bytes=1 << 20).load(policy.new_namespace({}), policy.import_module,
                                                                     policy.allowed)


def test_sessions_start_after_their_spares_were_killed(own_server):
    # Spares wait, pre-forked, for a session; one that dies meanwhile must not be handed one.
    import psutil
    proc, c = own_server
    zygote = next(p for p in psutil.Process(proc.pid).children() if "executor.zygote" in " ".join(p.cmdline()))
    spares = [p for p in zygote.children() if p.cwd() == zygote.cwd()]
    assert spares
    for spare in spares:
        spare.kill()
    psutil.wait_procs(spares, timeout=5)
    for _ in range(4):
        with c.create_session() as s:
            assert s.execute("6 * 7").value.python() == 42


def test_a_worker_killed_right_after_create_is_replaced(own_server):
    # CreateSession returns while a spare is still jailing itself: a worker lost in that
    # window, before or after it reported ready, is replaced by the first execute.
    import psutil
    proc, c = own_server
    zygote = next(p for p in psutil.Process(proc.pid).children() if "executor.zygote" in " ".join(p.cmdline()))
    for _ in range(3):
        s = c.create_session()  # its worker may still be jailing itself
        victims = zygote.children()  # no other session is open: its worker and the spares
        for p in victims:
            p.kill()
        psutil.wait_procs(victims, timeout=5)
        r = s.execute("6 * 7")
        assert r.ok and r.value.python() == 42 and r.restored
        s.close()


def test_a_session_using_class_patterns_restores_whole(own_server):
    # A positional class pattern binds the compiler's hidden `_sc_mc` in the cell's globals:
    # it is checkpointed with the rest and loses no name.
    proc, c = own_server
    with c.create_session() as s:
        r = s.execute("class P:\n    __match_args__ = ('x',)\n    def __init__(self, x):\n        self.x = x\n"
                      "def unbox(v):\n    match v:\n        case P(x):\n            return x\n"
                      "match P(4):\n    case P(n):\n        seen = n\nseen")
        assert r.ok and r.value.python() == 4, r
        _kill_worker(proc, s)
        r = s.execute("unbox(P(5)), seen, 'seen' in globals()")
        assert r.ok and r.restored and not r.lost_names, r
        assert r.value.python() == [5, 4, True]
