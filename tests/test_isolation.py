"""Escape attempts through the real service. Two layers are tested separately:

* the policy (default allowlist): classic Python jailbreaks fail at compile or run time;
* the OS jail alone: a server whose operator allowed os/socket/ctypes/subprocess/signal, so
  the policy no longer stands in the way, and seccomp, Landlock, rlimits and the per-session
  process still stop each attempt.

After every test the service is healthy and another session's state is intact.
"""
from __future__ import annotations

import os

import pytest

from sandcell.client import ExecutorClient, Limits, ToolSpec
from sandcell.local import ExecutorProcess

pytestmark = pytest.mark.usefixtures("service_intact")

POLICY_ESCAPES = {
    "import os": "import os",
    "import sys": "import sys",
    "from os import system": "from os import system",
    "import subprocess": "import subprocess",
    "import socket": "import socket",
    "import ctypes": "import ctypes",
    "import importlib": "import importlib",
    "__import__": "__import__('os')",
    "subclasses walk": "().__class__.__bases__[0].__subclasses__()",
    "getattr subclasses": "getattr(getattr((), '__cla' + 'ss__'), '__ba' + 'ses__')",
    "type.__subclasses__": "type.__subclasses__(object)",
    "builtins via print.__self__": "print.__self__",
    "function globals": "(lambda: 0).__globals__",
    "generator frame walk": "g = (i for i in [1])\ng.gi_frame.f_back.f_globals",
    "traceback frame": "try:\n    1/0\nexcept Exception as e:\n    e.__traceback__.tb_frame.f_globals",
    "format attribute walk": "'{0.__class__.__mro__}'.format(1)",
    "format_map walk": "'{a.__init__.__globals__}'.format_map({'a': 1})",
    "module reached through allowed module": "import statistics\nstatistics.sys",
    "private module attribute": "import random\nrandom._os",
    "eval": "eval('1 + 1')",
    "exec": "exec('x = 1')",
    "compile": "compile('1', 's', 'eval')",
    "__builtins__": "__builtins__['eval']",
    "builtins through globals()": "globals()['__builtins__']['eval']",
    "vars(module)": "import statistics\nvars(statistics)",
    "open outside work dir": "open('/etc/passwd').read()",
    "open parent dir": "open('../escape.txt', 'w')",
    "proc environ": "open('/proc/self/environ').read()",
}


@pytest.mark.parametrize("code", POLICY_ESCAPES.values(), ids=POLICY_ESCAPES.keys())
def test_policy_blocks_classic_escapes(client, code):
    with client.create_session() as s:
        r = s.execute(code)
        assert r.status == "error", f"escape succeeded: {code!r} -> {r}"
        assert r.error.type in {"ImportError", "ModuleNotAllowed", "ModuleNotFoundError", "PolicyViolation", "SyntaxError",
                                "NameError", "AttributeError", "PermissionError", "TypeError", "KeyError"}, r.error
        assert s.execute("40 + 2").value.python() == 42  # the session keeps working


def test_sessions_cannot_see_each_other(client, local_executor):
    with client.create_session() as a, client.create_session() as b:
        a.execute("secret = 'a-only'\nwith open('secret.txt', 'w') as f:\n    f.write('a-file')")
        assert b.execute("secret").error.type == "NameError"
        a_dir = next(w.cwd() for w in local_executor.session_workers() if os.path.exists(os.path.join(w.cwd(), "secret.txt")))
        r = b.execute(f"open({os.path.join(a_dir, 'secret.txt')!r}).read()")
        assert r.status == "error" and r.error.type == "PermissionError"
        assert a.execute("open('secret.txt').read()").value.python() == "a-file"


def test_what_a_session_does_to_shared_objects_stays_in_it(client):
    # Sessions share the zygote's module copies and builtins (copy-on-write): a change one
    # makes to them must not show in another, and a tool name stays reserved in each.
    def lookup(order):
        return {"order": order}
    with client.create_session() as a, client.create_session(tools=[ToolSpec("lookup")]) as b:
        assert a.execute("import math, statistics\nmath.pi = 3\nstatistics.mean = len\n"
                         "len = max\nmath.pi").value.python() == 3
        assert b.execute("import math, statistics\n(math.pi, statistics.mean([1, 3]), len('ab'))").value.python() == \
            [3.141592653589793, 2, 2]
        r = b.execute("lookup = print")
        assert r.status == "error" and "lookup" in r.error.message
        assert b.execute("lookup(order=7)['order']", tools={"lookup": lookup}).value.python() == 7
        assert a.execute("math.pi").value.python() == 3  # a keeps its own change


@pytest.fixture(scope="module")
def widened():
    """A server whose allowlist lets code reach os, socket, ctypes, subprocess and signal."""
    with ExecutorProcess("--allowed-imports", "os,socket,ctypes,subprocess,signal,collections,math,time") as proc, \
            ExecutorClient(proc.address) as c:
        yield proc, c


OS_ESCAPES = {
    "fork": "import os\nos.fork()",
    "exec": "import os\nos.execv('/bin/sh', ['sh', '-c', 'true'])",
    "subprocess": "import subprocess\nsubprocess.run(['true'])",
    "system": "import os\nrc = os.system('true')\nassert rc == 0, rc",
    "raw clone via ctypes": "import ctypes, os\nrc = ctypes.CDLL(None).syscall(56, 17, 0, 0, 0, 0)  # clone(SIGCHLD)\n"
                            "if rc == 0:\n    os._exit(0)\nif rc < 0:\n    raise PermissionError('clone blocked')",
    "inet socket": "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)",
    "unix socket": "import socket\nsocket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
    "read /etc/shadow": "import os\nos.open('/etc/shadow', os.O_RDONLY)",
    "write outside work dir": "import os\nos.open('/tmp/sandcell-escape', os.O_WRONLY | os.O_CREAT)",
    "kill everything": "import os, signal\nos.kill(-1, signal.SIGKILL)",
    "ptrace": "import ctypes\nrc = ctypes.CDLL(None).ptrace(16, 1, 0, 0)  # PTRACE_ATTACH to init\n"
              "if rc != 0:\n    raise PermissionError('ptrace blocked')",
}


@pytest.mark.parametrize("code", OS_ESCAPES.values(), ids=OS_ESCAPES.keys())
def test_os_jail_holds_without_policy(widened, code):
    proc, c = widened
    with c.create_session(limits=Limits(wall_timeout_ms=5_000)) as s:
        r = s.execute(code)
        assert r.status == "error", f"escape succeeded: {code!r} -> {r}"
        assert r.error.type in {"PermissionError", "OSError", "AssertionError", "FileNotFoundError"}, r.error
        assert s.execute("1 + 1").value.python() == 2
    assert c.health() and proc.proc.poll() is None


def test_os_jail_signals_and_proc_of_other_processes(widened):
    proc, c = widened
    with c.create_session() as victim, c.create_session() as attacker:
        victim.execute("alive = True")
        vpid = next(w.pid for w in proc.session_workers() if w.pid != 0)
        pids = [w.pid for w in proc.session_workers()]
        for target in (*pids, proc.pid):
            r = attacker.execute(f"import os, signal\nos.kill({target}, signal.SIGKILL)")
            if r.status == "error":
                assert r.error.type in {"PermissionError", "ProcessLookupError"}, r
            else:  # allowed only on itself: the attacker died and came back
                assert r.status == "killed" and r.restored, r
            r = attacker.execute(f"import os\nos.open('/proc/{target}/environ', os.O_RDONLY)")
            assert r.status == "error" and r.error.type in {"PermissionError", "FileNotFoundError"}, r
        assert victim.execute("alive").value.python() is True
        assert vpid in [w.pid for w in proc.session_workers()]


def test_os_jail_environment_scrubbed(widened):
    _proc, c = widened
    with c.create_session() as s:
        r = s.execute("import os\nsorted(os.environ)")
        assert r.ok
        leaked = [k for k in r.value.python() if "TOKEN" in k or "KEY" in k or k.startswith("SANDCELL")]
        assert not leaked
