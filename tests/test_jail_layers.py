"""Each layer of the worker's OS jail, probed from inside real sessions over gRPC.

The server here allows os, ctypes, socket, resource, ... so the policy no longer stands in
the way: what stops each attempt is the jail (executor/jail/): rlimits, the seccomp filter,
no_new_privs, non-dumpable, the per-session work dir, uid and environment, the closed
descriptors, Landlock. Where a process's state cannot be seen from inside (Landlock hides
/proc from the worker), it is read from outside, as root, through /proc/<worker pid>.

Raw syscalls use x86_64 numbers, written out here independently of seccomp.py's table (a
wrong number there shows up as a failure here). Probes are chosen, where possible, so that
the kernel itself would *not* answer EPERM without the filter (unshare(0) and
setresuid(-1, -1, -1) succeed, setns(-1) is EBADF, socket() works for any uid...), so an
EPERM really is the filter's answer.

After every test the server is healthy and a bystander session kept its state, its file
and its process (the `intact` fixture).
"""
from __future__ import annotations

import errno
import os
import platform
import shutil
import tempfile
import time

import psutil
import pytest

from executor.jail import default_env, landlock
from sandcell.client import ExecutorClient, Limits
from sandcell.local import ExecutorProcess

MiB = 1 << 20
ALLOWED = "os,socket,ctypes,signal,resource,threading,errno,platform,time,subprocess,collections,struct"
MAX_SESSIONS = 8
UID_BASE = 200_000  # ServerConfig.worker_uid_base default
# Must never reach a worker: the server's own environment (not SANDCELL_TOKEN: that turns on auth).
SECRETS = {"MY_SECRET_API_KEY": "xyz-secret-4f1c9a", "AWS_SECRET_ACCESS_KEY": "aws-secret-7d2e0b"}

EPERM, EACCES = errno.EPERM, errno.EACCES

# In-session helpers, prepended to the cells that need them.
SC = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(nr, *args):
    ctypes.set_errno(0)
    rc = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return [rc, ctypes.get_errno() if rc == -1 else 0]
"""
PROBE = """
import os
def isfd(fd):
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
def probe(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return [type(e).__name__, e.errno]
    except ValueError as e:  # resource.setrlimit reports EPERM as ValueError
        return ['ValueError', str(e)]
    return 'allowed'
"""


def run(s, code: str):
    r = s.execute(code)
    assert r.ok, f"{code!r} -> {r.status}: {r.error or r.message}"
    return r.value.python() if r.value is not None else None


def run_all(s, prelude: str, exprs: dict[str, str]) -> dict:
    """Evaluate each named expression in one cell (after `prelude`); {name: value}."""
    return run(s, prelude + "\n{" + ", ".join(f"{k!r}: {v}" for k, v in exprs.items()) + "}")


def ident(s) -> dict:
    return run(s, "import os\n{'pid': os.getpid(), 'uid': os.getuid(), 'cwd': os.getcwd()}")


def proc_status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


@pytest.fixture(scope="module")
def server():
    with ExecutorProcess("--allowed-imports", ALLOWED, "--max-sessions", str(MAX_SESSIONS),
                         env=SECRETS) as proc, ExecutorClient(proc.address, timeout_s=60) as c:
        yield proc, c


@pytest.fixture(scope="module")
def bystander(server):
    _proc, c = server
    s = c.create_session()
    run(s, "kept = {'n': 777}\nwith open('kept.txt', 'w') as f:\n    f.write('bystander')")
    info = ident(s)
    yield s, info
    s.close()


@pytest.fixture(autouse=True)
def intact(server, bystander):
    """After each hostile test: the service serves and the bystander session is untouched."""
    yield
    proc, c = server
    s, info = bystander
    assert proc.proc.poll() is None, f"server died:\n{proc.log()[-3000:]}"
    assert c.health(), "executor is not SERVING after a hostile test"
    r = s.execute("import os\n[kept['n'], open('kept.txt').read(), os.getpid()]")
    assert r.ok and not r.restored, f"bystander disturbed: {r}"
    assert r.value.python() == [777, "bystander", info["pid"]]


# --- rlimits --------------------------------------------------------------------------------

def test_rlimits_are_the_session_limits(server):
    _proc, c = server
    lim = Limits(memory_bytes=384 * MiB, file_size_bytes=5 * MiB, open_files=32, session_cpu_ms=50_000)
    with c.create_session(limits=lim) as s:
        got = run(s, "import resource as r\n"
                     "{n: list(r.getrlimit(getattr(r, 'RLIMIT_' + n))) for n in ('AS', 'CPU', 'FSIZE', 'NOFILE', 'CORE')}")
        assert got == {
            "AS": [384 * MiB, 384 * MiB],
            "CPU": [49, 50],            # ceil(session_cpu_ms / 1000); SIGXCPU a second before the kill
            "FSIZE": [5 * MiB, 5 * MiB],
            "NOFILE": [32, 32],
            "CORE": [0, 0],
        }
        # Soft == hard and no privilege: none can be raised again.
        raised = run(s, PROBE + "import resource as r\n"
                     "[probe(r.setrlimit, getattr(r, 'RLIMIT_' + n), (r.RLIM_INFINITY, r.RLIM_INFINITY))"
                     " for n in ('AS', 'CPU', 'FSIZE', 'NOFILE', 'CORE')]")
        assert all(x != "allowed" for x in raised), raised


def test_rlimits_are_enforced_and_the_session_survives(server):
    _proc, c = server
    with c.create_session(limits=Limits(memory_bytes=384 * MiB, file_size_bytes=5 * MiB, open_files=32)) as s:
        run(s, "state = 'before'")
        # NOFILE: 0-4 are open (stdio, channel, checkpoint), so 27 more fit, then EMFILE.
        n, err = run(s, "import os\nheld = []\nerr = None\n"
                        "while err is None:\n"
                        "    try:\n        held.append(os.open('/dev/null', os.O_RDONLY))\n"
                        "    except OSError as e:\n        err = e.errno\n"
                        "[len(held), err]")
        assert (n, err) == (32 - 5, errno.EMFILE)
        # The descriptors are still held across the execute: the session keeps working.
        assert run(s, "len(held)") == 27
        assert run(s, "for fd in held:\n    os.close(fd)\nos.close(os.open('/dev/null', os.O_RDONLY))\nstate") == "before"
        # FSIZE: the write stops at the limit with EFBIG (SIGXFSZ ignored, not fatal).
        n, err = run(s, "import os\nfd = os.open('big.bin', os.O_WRONLY | os.O_CREAT)\nn, err = 0, None\n"
                        "while err is None:\n"
                        "    try:\n        n += os.write(fd, b'x' * (1 << 20))\n"
                        "    except OSError as e:\n        err = e.errno\n"
                        "os.close(fd)\nos.unlink('big.bin')\n[n, err]")
        assert (n, err) == (5 * MiB, errno.EFBIG)
        # AS: an allocation past the limit is a MemoryError, not a dead worker.
        r = s.execute("blob = bytearray(400 * (1 << 20))")
        assert r.status in ("error", "memory_limit") and r.error.type == "MemoryError", r
        r = s.execute("state")
        assert r.ok and r.value.python() == "before" and not r.restored, r


# --- seccomp and no_new_privs ----------------------------------------------------------------

def test_seccomp_filter_mode_and_no_new_privs(server):
    _proc, c = server
    with c.create_session() as s:
        got = run(s, SC + "[libc.prctl(21, 0, 0, 0, 0), libc.prctl(39, 0, 0, 0, 0)]")  # PR_GET_SECCOMP, PR_GET_NO_NEW_PRIVS
        assert got == [2, 1]
        # The worker cannot read its own /proc/self/status (Landlock: /proc is not granted), so
        # the kernel's view is read from outside.
        if landlock.ABI is not None:
            r = s.execute("open('/proc/self/status', 'rb')")
            assert r.status == "error" and r.error.type == "PermissionError", r
        st = proc_status(ident(s)["pid"])
        assert st["Seccomp"] == "2" and int(st["Seccomp_filters"]) >= 1 and st["NoNewPrivs"] == "1", st
        for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
            assert int(st[cap], 16) == 0, (cap, st[cap])


# x86_64 syscall numbers; args chosen so that, without the filter, the kernel would mostly
# not answer EPERM (noted where it would).
REFUSED = {
    # the kernel and the machine
    "mount": (165, 0, 0, 0, 0, 0),                  # kernel: EPERM too (no CAP_SYS_ADMIN)
    "umount2": (166, 0, 0),                         # kernel: EPERM too
    "bpf": (321, 0x7FFF, 0, 0),                     # kernel: EINVAL or EPERM
    "kexec_load": (246, 0, 0, 0, 0),                # kernel: EPERM too
    "kexec_file_load": (320, -1, -1, 0, 0, 0),
    "init_module": (175, 0, 0, 0),                  # kernel: EPERM too
    "finit_module": (313, -1, 0, 0),
    "delete_module": (176, 0, 0),
    "unshare(0)": (272, 0),                         # kernel: 0
    "setns(-1)": (308, -1, 0),                      # kernel: EBADF
    "pivot_root": (155, 0, 0),
    "chroot": (161, 0),                             # kernel: EFAULT
    "reboot": (169, 0, 0, 0, 0),
    "swapon": (167, 0, 0),
    "perf_event_open": (298, 0, 0, -1, -1, 0),      # kernel: EFAULT
    "keyctl(GET_KEYRING_ID)": (250, 0, -2, 0),      # kernel: an id or ENOKEY
    "add_key": (248, 0, 0, 0, 0, 0),
    "request_key": (249, 0, 0, 0, 0),
    "io_uring_setup": (425, 1, 0),                  # kernel: EFAULT
    "io_uring_enter": (426, -1, 0, 0, 0, 0, 0),
    "io_uring_register": (427, -1, 0, 0, 0),
    "userfaultfd(USER_MODE_ONLY)": (323, 1),        # kernel: an fd where allowed
    "open_by_handle_at": (304, -1, 0, 0),
    "name_to_handle_at": (303, -1, 0, 0, 0, 0),
    "fsopen": (430, 0, 0),
    "open_tree": (428, -1, 0, 0),
    "move_mount": (429, -1, 0, -1, 0, 0),
    "mount_setattr": (442, -1, 0, 0, 0, 0),
    "iopl": (172, 0),
    "ioperm": (173, 0, 0, 0),
    "syslog(SIZE_BUFFER)": (103, 10, 0, 0),
    "personality(query)": (135, 0xFFFFFFFF),        # kernel: the current persona
    "acct": (163, 0),
    "settimeofday(NULL, NULL)": (164, 0, 0),        # kernel: 0
    "sethostname": (170, 0, 0),
    "x32 getpid": (0x40000000 | 39,),               # the x32 ABI: never looked at
    # other processes (own pid passed as "self" would be allowed for some: use init, pid 1)
    "ptrace(TRACEME)": (101, 0, 0, 0, 0),           # kernel: 0
    "ptrace(ATTACH, 1)": (101, 16, 1, 0, 0),
    "process_vm_readv(1)": (310, 1, 0, 0, 0, 0, 0),
    "process_vm_writev(1)": (311, 1, 0, 0, 0, 0, 0),
    "kcmp": (312, 1, 1, 0, 0, 0),
    "pidfd_open(1)": (434, 1, 0),                   # kernel: an fd
    "pidfd_getfd": (438, -1, 0, 0),
    "pidfd_send_signal": (424, -1, 0, 0, 0),
    "tkill(1, 0)": (200, 1, 0),
    "tgkill(1, 1, 0)": (234, 1, 1, 0),
    "rt_sigqueueinfo(1)": (129, 1, 0, 0),
    "prlimit64(1)": (302, 1, 7, 0, 0),              # kernel: 0 (reading init's NOFILE)
    "setpriority(1)": (141, 0, 1, 0),
    "sched_setaffinity(1)": (203, 1, 0, 0),
    "prctl(SET_DUMPABLE, 1)": (157, 4, 1),          # kernel: 0
    "prctl(SET_PTRACER, any)": (157, 0x59616D61, -1),
    "prctl(SET_MM)": (157, 35, 0, 0),
    "fcntl(F_SETOWN)": (72, 0, 8, 1),
    "fcntl(F_SETSIG)": (72, 0, 10, 9),
    "ioctl(TIOCSTI)": (16, 0, 0x5412, 0),
    # new sockets and endpoints
    "socket(AF_INET, STREAM)": (41, 2, 1, 0),       # kernel: an fd, for any uid
    "socket(AF_INET6, DGRAM)": (41, 10, 2, 0),
    "socket(AF_UNIX, STREAM)": (41, 1, 1, 0),
    "socket(AF_NETLINK, RAW)": (41, 16, 3, 0),
    "socket(AF_PACKET, RAW)": (41, 17, 3, 0),
    "socket(AF_VSOCK, STREAM)": (41, 40, 1, 0),
    "socket(AF_ALG, SEQPACKET)": (41, 38, 5, 0),
    "socketpair(AF_INET)": (53, 2, 1, 0, 0),        # kernel: EOPNOTSUPP (AF_UNIX pairs are allowed)
    "socketpair(AF_NETLINK)": (53, 16, 3, 0, 0),
    "connect(-1)": (42, -1, 0, 0),                  # kernel: EBADF
    "bind(-1)": (49, -1, 0, 0),
    "listen(-1)": (50, -1, 1),
    "accept(-1)": (43, -1, 0, 0),
    "accept4(-1)": (288, -1, 0, 0, 0),
    # new programs and processes
    "execve(NULL)": (59, 0, 0, 0),                  # kernel: EFAULT
    "execveat(-1)": (322, -1, 0, 0, 0, 0),
    "fork": (57,),
    "vfork": (58,),
    "clone(SIGCHLD)": (56, 17, 0, 0, 0, 0),
    "clone(THREAD|SIGHAND|VM|NEWUSER)": (56, 0x10000 | 0x800 | 0x100 | 0x10000000, 0, 0, 0, 0),  # kernel: EINVAL
    # identity
    "setuid(0)": (105, 0),
    "setresuid(-1, -1, -1)": (117, -1, -1, -1),     # kernel: 0 (no change)
    "setresgid(-1, -1, -1)": (119, -1, -1, -1),     # kernel: 0
    "setgroups(0, NULL)": (116, 0, 0),
    "capset": (126, 0, 0),
    # machine-wide IPC namespaces
    "shmget": (29, 0x5C5C, 0, 0),                   # kernel: ENOENT
    "msgget": (68, 0x5C5C, 0),
    "semget": (64, 0x5C5C, 0, 0),
    "mq_open": (240, 0, 0, 0, 0),
}


def test_seccomp_refuses_the_listed_syscalls(server):
    assert platform.machine() == "x86_64", "these syscall numbers are x86_64's (CI is x86_64)"
    _proc, c = server
    with c.create_session() as s:
        got = run(s, SC + "import platform\nassert platform.machine() == 'x86_64'\n"
                          f"calls = {REFUSED!r}\nout = {{}}\n"
                          "for name, call in calls.items():\n"
                          "    rc, err = sc(*call)\n"
                          "    if rc == 0 and name in ('fork', 'vfork', 'clone(SIGCHLD)'):\n"
                          "        os._exit(0)  # a child escaped the filter: the parent reports it\n"
                          "    out[name] = [rc, err]\n"
                          "out")
        refused = {name: [-1, EPERM] for name in REFUSED}
        wrong = {name: got[name] for name in REFUSED if got[name] != refused[name]}
        assert not wrong, f"not refused with EPERM: {wrong}"
        assert run(s, "1 + 1") == 2


def test_seccomp_allows_what_the_runtime_needs(server):
    _proc, c = server
    expected = [  # (name, expression, value): a thread-only, self-only filter must not break these
        ("getpid", "sc(39)[0] == pid", True),
        ("kill(self, 0)", "sc(62, pid, 0)", [0, 0]),
        ("kill(0, 0)", "sc(62, 0, 0)", [0, 0]),
        ("tgkill(self, self, 0)", "sc(234, pid, pid, 0)", [0, 0]),
        ("prlimit64(0) read", "sc(302, 0, 7, 0, 0)", [0, 0]),
        ("setpriority(self, 5)", "sc(141, 0, 0, 5)", [0, 0]),
        ("prctl(GET_DUMPABLE)", "sc(157, 3)", [0, 0]),
        ("clone3", "sc(435, 0, 0)", [-1, errno.ENOSYS]),  # so glibc falls back to clone for threads
        ("landlock_create_ruleset(version)", "sc(444, 0, 0, 1)[0] >= 1", landlock.ABI is not None),
    ]
    with c.create_session() as s:
        got = run_all(s, SC + "pid = os.getpid()", {name: expr for name, expr, _ in expected})
        assert got == {name: value for name, _, value in expected}


def test_no_exec_and_no_new_processes(server):
    _proc, c = server
    with c.create_session() as s:
        got = run_all(s, PROBE + "import subprocess", {
            "execv": "probe(os.execv, '/bin/true', ['true'])",
            "execve": "probe(os.execve, '/usr/bin/true', ['true'], {})",
            "fork": "probe(os.fork)",
            "posix_spawn": "probe(os.posix_spawn, '/bin/true', ['true'], {})",
            "subprocess": "probe(subprocess.run, ['/bin/true'])",
            "system": "os.system('true')",
        })
        blocked = ["PermissionError", EPERM]
        assert got.pop("system") != 0, "os.system ran a shell"
        assert got == {k: blocked for k in got}, got
        assert run(s, "1 + 1") == 2


def test_threads_still_work(server):
    _proc, c = server
    with c.create_session() as s:
        got = run(s, "import threading, os\nout = []\nlock = threading.Lock()\n"
                     "def work(i):\n    with lock:\n        out.append([i, os.getpid()])\n"
                     "ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n"
                     "for t in ts:\n    t.start()\nfor t in ts:\n    t.join()\n"
                     "[sorted(i for i, _ in out), len({p for _, p in out}), threading.active_count()]")
        assert got[0] == list(range(8)) and got[1] == 1 and got[2] == 1


# --- not dumpable ----------------------------------------------------------------------------

def test_not_dumpable(server):
    _proc, c = server
    with c.create_session() as s:
        assert run(s, SC + "import errno\n[libc.prctl(3, 0, 0, 0, 0), sc(157, 4, 1), libc.prctl(3, 0, 0, 0, 0)]") \
            == [0, [-1, EPERM], 0]
        me = ident(s)
        # Non-dumpable: the kernel hands the process's /proc entries to root, not to its uid.
        for entry in ("status", "mem", "environ", "maps", "fd"):
            st = os.stat(f"/proc/{me['pid']}/{entry}")
            assert (st.st_uid, st.st_gid) == (0, 0), (entry, st.st_uid)
        if os.geteuid() == 0:
            assert me["uid"] != 0


# --- own work dir ----------------------------------------------------------------------------

def test_each_session_has_its_own_empty_work_dir(server, bystander):
    proc, c = server
    with c.create_session() as a, c.create_session() as b:
        ia, ib = ident(a), ident(b)
        assert ia["cwd"] != ib["cwd"]
        assert os.path.dirname(ia["cwd"]) == os.path.dirname(ib["cwd"]) == os.path.dirname(bystander[1]["cwd"])
        assert run(a, "import os\nos.listdir('.')") == [] and run(b, "import os\nos.listdir('.')") == []
        # the kernel agrees (seen from outside) and these are the server's session workers
        assert psutil.Process(ia["pid"]).cwd() == ia["cwd"] and psutil.Process(ib["pid"]).cwd() == ib["cwd"]
        assert {ia["pid"], ib["pid"]} <= {w.pid for w in proc.session_workers()}
        run(a, "with open('only-a.txt', 'w') as f:\n    f.write('a')")
        assert os.path.isfile(os.path.join(ia["cwd"], "only-a.txt"))
        assert run(b, "import os\nos.listdir('.')") == []
        got = run(b, PROBE + f"[probe(os.open, {os.path.join(ia['cwd'], 'only-a.txt')!r}, os.O_RDONLY), "
                             f"probe(os.listdir, {ia['cwd']!r}), probe(os.listdir, '..'), "
                             f"probe(os.open, '../{os.path.basename(ia['cwd'])}/b-was-here', os.O_WRONLY | os.O_CREAT)]")
        assert all(x != "allowed" and x[0] == "PermissionError" for x in got), got
        assert not os.path.exists(os.path.join(ia["cwd"], "b-was-here"))
        assert run(a, "import os\nos.listdir('.')") == ["only-a.txt"]
    # closed: each work dir is gone, and its worker with it
    for i in (ia, ib):
        assert not os.path.exists(i["cwd"]), i
        deadline = time.monotonic() + 5
        while psutil.pid_exists(i["pid"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not psutil.pid_exists(i["pid"]) or psutil.Process(i["pid"]).status() == psutil.STATUS_ZOMBIE


# --- scrubbed environment --------------------------------------------------------------------

def _readable_memory(pid: int) -> bytes:
    """The worker's writable private memory (heap, stack, anonymous maps), read as root."""
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            perms, path = parts[1], parts[5] if len(parts) > 5 else ""
            if not perms.startswith("rw") or (path and not path.startswith("[")) or path == "[vvar]":
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            try:
                mem.seek(lo)
                chunks.append(mem.read(hi - lo))
            except OSError:
                continue
    return b"".join(chunks)


def test_environment_is_scrubbed(server):
    proc, c = server
    # the secrets really are in the server's environment: there was something to leak
    server_env = open(f"/proc/{proc.pid}/environ", "rb").read()
    assert all(f"{k}={v}".encode() in server_env for k, v in SECRETS.items())
    with c.create_session() as s:
        me = ident(s)
        env = run(s, "import os\ndict(os.environ)")
        assert env == default_env(me["cwd"]) == {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": me["cwd"], "TMPDIR": me["cwd"]}
        assert run(s, "import os\nos.getenv('MY_SECRET_API_KEY')") is None
        # Not only os.environ: the process's initial environment block and its memory hold none
        # of the server's secrets (the zygote was started with a filtered environment).
        block = open(f"/proc/{me['pid']}/environ", "rb").read()
        memory = _readable_memory(me["pid"])
        assert len(memory) > MiB
        for k, v in SECRETS.items():
            assert k.encode() not in block and v.encode() not in block
            assert v.encode() not in memory, f"{k}'s value is in the worker's memory"


# --- descriptors -----------------------------------------------------------------------------

def _inodes(table: str) -> set[str]:
    try:
        with open(f"/proc/net/{table}") as f:
            rows = f.read().splitlines()[1:]
    except FileNotFoundError:
        return set()
    col = 6 if table == "unix" else 9  # the inode column
    return {r.split()[col] for r in rows if len(r.split()) > col}


def test_only_its_own_descriptors(server):
    proc, c = server
    with c.create_session() as s:
        me = ident(s)
        got = run(s, "import os\nfds = {}\n"
                     "for fd in range(1024):\n"
                     "    try:\n        st = os.fstat(fd)\n    except OSError:\n        continue\n"
                     "    fds[fd] = [st.st_mode >> 12, st.st_rdev == os.makedev(1, 3)]\n"
                     "sorted(fds.items())")
        got = {fd: v for fd, v in got}
        # 0-2: /dev/null; then the channel (a socket) and the checkpoint (a regular file)
        assert len(got) == 5 and all(got[fd] == [0o02, True] for fd in (0, 1, 2)), got
        assert sorted(v[0] for fd, v in got.items() if fd > 2) == [0o10, 0o14], got
        chan = next(fd for fd, v in got.items() if v[0] == 0o14)
        ckpt = next(fd for fd, v in got.items() if v[0] == 0o10)
        # From outside: what each descriptor really is.
        links = {int(fd): os.readlink(f"/proc/{me['pid']}/fd/{fd}") for fd in os.listdir(f"/proc/{me['pid']}/fd")}
        assert sorted(links) == sorted(got), links
        assert links[0] == links[1] == links[2] == "/dev/null"
        assert links[chan].startswith("socket:[")
        ino = links[chan][len("socket:["):-1]
        assert ino in _inodes("unix"), "the channel is not a Unix socket"
        for t in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
            assert ino not in _inodes(t)
        # the checkpoint is this session's own sealed memfd: in no directory anyone can list
        assert links[ckpt].startswith("/memfd:sandcell-checkpoint"), links[ckpt]
        server_files = {os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{proc.pid}/fd")}
        # The server keeps the session's checkpoint open too (it outlives the worker); nothing
        # else of the server's is in the worker.
        shared = {v for v in links.values() if v != "/dev/null"} & server_files
        assert shared == {links[ckpt]}, f"inherited from the server: {shared - {links[ckpt]}}"


# --- the server's own sockets and processes, other sessions ----------------------------------

def _zygote_pid(proc: ExecutorProcess) -> int:
    return next(p.pid for p in psutil.Process(proc.pid).children() if "executor.zygote" in " ".join(p.cmdline()))


def test_server_sockets_unreachable(server):
    proc, c = server
    host, port = proc.address.rsplit(":", 1)
    with c.create_session() as s:
        got = run(s, PROBE + "import socket\n"
                             f"[probe(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(({host!r}, {port}))), "
                             "probe(socket.socket, socket.AF_INET6, socket.SOCK_STREAM), "
                             "probe(socket.socket, socket.AF_UNIX, socket.SOCK_STREAM), "
                             "probe(socket.socketpair, socket.AF_INET)]")  # AF_UNIX pairs: asyncio's self-pipe
        assert got == [["PermissionError", EPERM]] * 4, got
        # ...the only socket a worker holds is its own, already-connected channel; it cannot be
        # pointed anywhere else.
        got = run(s, SC + PROBE + f"import socket, struct\n"
                          "chan = [fd for fd in range(3, 64) if isfd(fd) and os.fstat(fd).st_mode >> 12 == 0o14]\n"
                          "assert len(chan) == 1, chan\nchan = chan[0]\n"
                          f"addr = struct.pack('=HH4s8x', socket.AF_INET, socket.htons({port}), socket.inet_aton({host!r}))\n"
                          "buf = ctypes.create_string_buffer(addr)\n"
                          "[sc(42, chan, ctypes.addressof(buf), len(addr)), sc(49, chan, ctypes.addressof(buf), len(addr)), sc(50, chan, 1)]")
        assert got == [[-1, EPERM]] * 3, got
        assert run(s, "1 + 1") == 2


def test_server_and_zygote_processes_unreachable(server):
    proc, c = server
    zygote = _zygote_pid(proc)
    with c.create_session() as s:
        got = run(s, PROBE + "import signal\nout = {}\n"
                             f"for pid in ({proc.pid}, {zygote}):\n"
                             "    for entry in ('fd', 'task'):\n"
                             "        out[f'{pid} listdir {entry}'] = probe(os.listdir, f'/proc/{pid}/{entry}')\n"
                             "    for entry in ('mem', 'environ', 'maps', 'cmdline'):\n"
                             "        out[f'{pid} open {entry}'] = probe(os.open, f'/proc/{pid}/{entry}', os.O_RDONLY)\n"
                             "    out[f'{pid} kill 0'] = probe(os.kill, pid, 0)\n"
                             "    out[f'{pid} kill TERM'] = probe(os.kill, pid, signal.SIGTERM)\n"
                             "out")
        for key, val in got.items():
            assert val != "allowed" and val[0] == "PermissionError", (key, val)
            if "kill" in key:
                assert val[1] == EPERM, (key, val)  # the filter's answer, not a uid check
    assert proc.proc.poll() is None and psutil.pid_exists(zygote) and _zygote_pid(proc) == zygote


def test_other_sessions_process_unreachable(server, bystander):
    _proc, c = server
    victim = bystander[1]["pid"]
    with c.create_session() as s:
        got = run_all(s, SC + PROBE + f"import signal, resource\nv = {victim}", {
            "open mem": "probe(os.open, f'/proc/{v}/mem', os.O_RDONLY)",
            "open environ": "probe(os.open, f'/proc/{v}/environ', os.O_RDONLY)",
            "open maps": "probe(os.open, f'/proc/{v}/maps', os.O_RDONLY)",
            "readlink cwd": "probe(os.readlink, f'/proc/{v}/cwd')",
            "readlink root": "probe(os.readlink, f'/proc/{v}/root')",
            "listdir fd": "probe(os.listdir, f'/proc/{v}/fd')",
            "kill 0": "probe(os.kill, v, 0)",
            "kill KILL": "probe(os.kill, v, signal.SIGKILL)",
            "killpg KILL": "probe(os.killpg, v, signal.SIGKILL)",
            "kill -1 KILL": "probe(os.kill, -1, signal.SIGKILL)",
            "setpriority": "probe(os.setpriority, os.PRIO_PROCESS, v, 19)",
            "sched_setaffinity": "probe(os.sched_setaffinity, v, {0})",
            "prlimit": "probe(resource.prlimit, v, resource.RLIMIT_NOFILE, (3, 3))",
            "pidfd_open": "probe(os.pidfd_open, v)",
            "ptrace attach": "sc(101, 16, v, 0, 0)",
            "ptrace seize": "sc(101, 0x4206, v, 0, 0)",
            "process_vm_readv": "sc(310, v, 0, 0, 0, 0, 0)",
            "tgkill": "sc(234, v, v, 9)",
            "rt_sigqueueinfo": "sc(129, v, 9, 0)",
        })
        denied = {"PermissionError"}
        for key, val in got.items():
            if isinstance(val[0], int):
                assert val == [-1, EPERM], (key, val)
            elif key.startswith(("kill", "setpriority", "sched", "prlimit", "pidfd")):
                assert val == ["PermissionError", EPERM], (key, val)  # seccomp: only the worker itself
            else:
                assert val != "allowed" and val[0] in denied, (key, val)


def test_other_sessions_files_unreachable(server, bystander):
    _proc, c = server
    by_pid, by_cwd = bystander[1]["pid"], bystander[1]["cwd"]
    # The checkpoint is a memfd, in no directory: its only path is through the worker's /proc.
    ckpt = next(f"/proc/{by_pid}/fd/{fd}" for fd in os.listdir(f"/proc/{by_pid}/fd")
                if os.readlink(f"/proc/{by_pid}/fd/{fd}").startswith("/memfd:"))
    with c.create_session() as s:
        kept = os.path.join(by_cwd, "kept.txt")
        got = run_all(s, PROBE, {
            "read file": f"probe(os.open, {kept!r}, os.O_RDONLY)",
            "overwrite file": f"probe(os.open, {kept!r}, os.O_WRONLY | os.O_TRUNC)",
            "list dir": f"probe(os.listdir, {by_cwd!r})",
            "create in dir": f"probe(os.open, {os.path.join(by_cwd, 'planted.py')!r}, os.O_WRONLY | os.O_CREAT)",
            "list sessions root": f"probe(os.listdir, {os.path.dirname(by_cwd)!r})",
            "read checkpoint": f"probe(os.open, {ckpt!r}, os.O_RDONLY)",
            "write checkpoint": f"probe(os.open, {ckpt!r}, os.O_WRONLY)",
            "list its descriptors": f"probe(os.listdir, {os.path.dirname(ckpt)!r})",
        })
        for key, val in got.items():
            assert val != "allowed" and val[0] == "PermissionError", (key, val)
    assert not os.path.exists(os.path.join(by_cwd, "planted.py"))


# --- Landlock --------------------------------------------------------------------------------

def test_landlock_confines_files_to_the_work_dir(server):
    _proc, c = server
    with c.create_session() as s:
        me = ident(s)
        probe_abi = run(s, SC + "sc(444, 0, 0, 1)[0]")
        if landlock.ABI is None:
            # This kernel has no Landlock: the jail reports landlock_abi=None and file access
            # rests on the per-session uid and permissions alone (the other tests here).
            assert probe_abi == -1
            return
        assert probe_abi == landlock.ABI
        # A directory outside the work dir that the session's own uid owns: plain permissions
        # would let it in, so a refusal here is Landlock's.
        outside = tempfile.mkdtemp(prefix="sandcell-landlock-")
        escapes = [f"/tmp/{os.path.basename(outside)}-escape", f"/dev/shm/{os.path.basename(outside)}-escape"]
        try:
            with open(os.path.join(outside, "mine.txt"), "w") as f:
                f.write("x")
            for p in (outside, os.path.join(outside, "mine.txt")):
                os.chown(p, me["uid"], me["uid"])
            got = run_all(s, PROBE, {
                "read own-uid file": f"probe(os.open, {outside + '/mine.txt'!r}, os.O_RDONLY)",
                "list own-uid dir": f"probe(os.listdir, {outside!r})",
                "create in own-uid dir": f"probe(os.open, {outside + '/new'!r}, os.O_WRONLY | os.O_CREAT)",
                "unlink in own-uid dir": f"probe(os.unlink, {outside + '/mine.txt'!r})",
                "mkdir in own-uid dir": f"probe(os.mkdir, {outside + '/d'!r})",
                "read /etc/passwd": "probe(os.open, '/etc/passwd', os.O_RDONLY)",
                "read /etc/hostname": "probe(os.open, '/etc/hostname', os.O_RDONLY)",
                "list /": "probe(os.listdir, '/')",
                "list /tmp": "probe(os.listdir, '/tmp')",
                "read /proc/self/status": "probe(os.open, '/proc/self/status', os.O_RDONLY)",
                "list /usr/bin": "probe(os.listdir, '/usr/bin')",
                "create in /tmp": f"probe(os.open, {escapes[0]!r}, os.O_WRONLY | os.O_CREAT)",
                "create in /dev/shm": f"probe(os.open, {escapes[1]!r}, os.O_WRONLY | os.O_CREAT)",
            })
            for key, val in got.items():
                assert val != "allowed" and val == ["PermissionError", EACCES], (key, val)
            assert os.listdir(outside) == ["mine.txt"]
            assert not any(os.path.exists(e) for e in escapes)
            # Links out of the work dir lead nowhere: Landlock checks the resolved path.
            got = run(s, PROBE + "os.symlink('/etc/passwd', 'pw')\n"
                                 f"os.symlink({outside!r}, 'out')\n"
                                 "[probe(os.open, 'pw', os.O_RDONLY), probe(os.open, 'out/mine.txt', os.O_RDONLY), "
                                 "probe(os.open, '/proc/self/root/etc/passwd', os.O_RDONLY), "
                                 f"probe(os.link, {outside + '/mine.txt'!r}, 'hard')]")
            assert got[:3] == [["PermissionError", EACCES]] * 3, got
            assert got[3] == ["OSError", errno.EXDEV], got  # Landlock's answer to a link across its rules
            assert os.listdir(outside) == ["mine.txt"]
        finally:
            shutil.rmtree(outside, ignore_errors=True)
            for e in escapes:
                if os.path.exists(e):
                    os.unlink(e)
        # ...while the work dir and the read-only runtime paths work as they should.
        got = run(s, "import os\nwith open('ok.txt', 'w') as f:\n    f.write('fine')\n"
                     "fd = os.open('/usr/lib/os-release', os.O_RDONLY)\nos.close(fd)\n"
                     "w = os.open('/dev/null', os.O_WRONLY)\nos.write(w, b'x')\nos.close(w)\n"
                     "[open('ok.txt').read(), len(os.listdir('/usr/lib')) > 0]")
        assert got == ["fine", True]
        got = run(s, PROBE + "[probe(os.open, '/usr/lib/os-release', os.O_WRONLY), "
                             "probe(os.open, '/usr/lib/sandcell-escape', os.O_WRONLY | os.O_CREAT)]")
        assert all(v != "allowed" and v[0] == "PermissionError" for v in got), got


def test_server_working_directory_unreadable(server):
    """`python -m` puts the server's working directory on the zygote's sys.path; only its code
    may be readable to sessions, not whatever else lies there (a checkout's .git, key files)."""
    proc, c = server
    cwd = psutil.Process(proc.pid).cwd()
    others = [os.path.join(cwd, n) for n in sorted(os.listdir(cwd))
              if os.path.isfile(os.path.join(cwd, n)) and not n.endswith((".py", ".pyc", ".so"))]
    assert others, f"no non-code file in {cwd} to probe"
    with c.create_session() as s:
        if landlock.ABI is None:  # no Landlock: only permissions guard these (a root-owned 0700 dir)
            return
        got = run_all(s, PROBE, {
            "list cwd": f"probe(os.listdir, {cwd!r})",
            **{f"read {os.path.basename(p)}": f"probe(os.open, {p!r}, os.O_RDONLY)" for p in others[:5]},
            **({"list .git": f"probe(os.listdir, {os.path.join(cwd, '.git')!r})"}
               if os.path.isdir(os.path.join(cwd, ".git")) else {}),
        })
        for key, val in got.items():
            assert val == ["PermissionError", EACCES], (key, val)


# --- uid -------------------------------------------------------------------------------------

def test_each_session_runs_as_its_own_uid(server):
    _proc, c = server
    with c.create_session() as a, c.create_session() as b:
        ia, ib = (run(x, "import os\n[list(os.getresuid()), list(os.getresgid()), os.getgroups(), "
                         "os.stat('.').st_uid, os.getpid()]") for x in (a, b))
        if os.geteuid() != 0:  # not root: the workers keep the server's uid (no uid to drop)
            assert ia[0][0] == ib[0][0] == os.geteuid()
            return
        for (uids, gids, groups, owner, pid) in (ia, ib):
            assert len(set(uids)) == 1 and uids[0] != 0, uids              # real, effective, saved
            assert UID_BASE <= uids[0] < UID_BASE + MAX_SESSIONS, uids
            assert gids == uids and groups == [] and owner == uids[0]
            assert psutil.Process(pid).uids() == (uids[0],) * 3
        assert ia[0][0] != ib[0][0], "two sessions share a uid"
        got = run(a, PROBE + "[probe(os.setuid, 0), probe(os.setgid, 0), probe(os.setresuid, "
                             f"{ib[0][0]}, {ib[0][0]}, {ib[0][0]})]")
        assert got == [["PermissionError", EPERM]] * 3, got
