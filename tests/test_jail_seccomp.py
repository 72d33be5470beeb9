"""The seccomp program, run through a small classic-BPF interpreter for both architectures
(aarch64 cannot be exercised live here). The live behaviour is in test_jail.py."""
from __future__ import annotations

import struct

import pytest

from executor.jail import seccomp

ALLOW, KILL = 0x7FFF0000, 0x80000000
EPERM, ENOSYS = 0x00050000 | 1, 0x00050000 | 38
AUDIT = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
PLAIN = {"x86_64": {"read": 0, "openat": 257, "getpid": 39, "mmap": 9, "futex": 202},
         "aarch64": {"read": 63, "openat": 56, "getpid": 172, "mmap": 222, "futex": 98}}
PID = 4242
THREAD_FLAGS = 0x3D0F00  # what glibc's pthread_create passes
SIGCHLD = 17


def run(prog: bytes, arch_id: int, nr: int, *args: int) -> int:
    args = [a & 0xFFFFFFFFFFFFFFFF for a in args] + [0] * (6 - len(args))
    data = struct.pack("=iIQ6Q", nr, arch_id, 0, *args)
    pc, acc, steps = 0, 0, 0
    while True:
        code, jt, jf, k = struct.unpack_from("=HBBI", prog, pc * 8)
        steps += 1
        assert steps < 64, "a syscall should be decided in a few dozen steps"
        if code == 0x20:
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif code == 0x15:
            pc += 1 + (jt if acc == k else jf)
        elif code == 0x35:
            pc += 1 + (jt if acc >= k else jf)
        elif code == 0x45:
            pc += 1 + (jt if acc & k else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


@pytest.fixture(params=["x86_64", "aarch64"])
def arch(request):
    return request.param


@pytest.fixture
def call(arch):
    prog = bytes(seccomp.program(PID, arch))
    numbers = {**seccomp._numbers(arch), **PLAIN[arch]}

    def _call(name: str, *args: int) -> int:
        return run(prog, AUDIT[arch], numbers[name], *args)
    _call.numbers = numbers
    return _call


def test_program_fits_and_everything_listed_is_refused(arch, call):
    assert len(seccomp.program(PID, arch)) // 8 < 4096
    conditional = {"kill", "rt_sigqueueinfo", "tgkill", "rt_tgsigqueueinfo", "prlimit64",
                   "sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr",
                   "setpriority", "ioprio_set", "clone", "clone3", "prctl", "fcntl", "ioctl",
                   "socketpair"}
    for name in seccomp._numbers(arch):
        if name not in conditional:
            assert call(name) == EPERM, name


def test_ordinary_calls_allowed(call):
    for name in ("read", "openat", "getpid", "mmap", "futex"):
        assert call(name, 1, 2, 3) == ALLOW


def test_clone_threads_only(call):
    assert call("clone", THREAD_FLAGS) == ALLOW
    assert call("clone", SIGCHLD) == EPERM                          # fork
    assert call("clone", 0x4111) == EPERM                           # CLONE_VM|CLONE_VFORK|SIGCHLD
    assert call("clone", THREAD_FLAGS | 0x10000000) == EPERM        # + CLONE_NEWUSER
    assert call("clone", THREAD_FLAGS | 0x40000000) == EPERM        # + CLONE_NEWNET
    assert call("clone3", 0, 88) == ENOSYS


def test_socketpair_only_anonymous_unix_pairs(call):
    # asyncio's event loop needs one (its self-pipe); an AF_UNIX pair reaches nothing outside.
    assert call("socketpair", 1, 1, 0, 0) == ALLOW                  # AF_UNIX, SOCK_STREAM
    assert call("socketpair", 1, 1 | 0x80000, 0, 0) == ALLOW        # + SOCK_CLOEXEC
    for family in (2, 10, 16, 17, 40):                              # INET, INET6, NETLINK, PACKET, VSOCK
        assert call("socketpair", family, 1, 0, 0) == EPERM, family
    assert call("socketpair", (1 << 32) | 2, 1, 0, 0) == EPERM      # the kernel reads an int


def test_signals_only_to_self(call):
    assert call("kill", PID, 9) == ALLOW
    assert call("kill", 0, 9) == ALLOW
    assert call("kill", -PID, 9) == ALLOW                           # sign-extended by libc
    assert call("kill", -1, 9) == EPERM
    assert call("kill", PID + 1, 9) == EPERM
    assert call("kill", 1, 9) == EPERM
    assert call("kill", (7 << 32) | PID, 9) == ALLOW                # the kernel reads an int
    assert call("tgkill", PID, PID + 3, 10) == ALLOW
    assert call("tgkill", PID + 1, PID + 1, 10) == EPERM
    assert call("tkill", PID, 10) == EPERM
    assert call("rt_sigqueueinfo", PID, 10, 0) == ALLOW
    assert call("rt_sigqueueinfo", 1, 10, 0) == EPERM
    assert call("rt_tgsigqueueinfo", 1, 1, 10, 0) == EPERM
    assert call("pidfd_send_signal", 3, 9) == EPERM


def test_other_processes_untouchable(call):
    for name in ("prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr"):
        assert call(name, 0, 1) == ALLOW, name
        assert call(name, PID, 1) == ALLOW, name
        assert call(name, PID + 1, 1) == EPERM, name
    assert call("setpriority", 0, 0, 5) == ALLOW                    # PRIO_PROCESS, self
    assert call("setpriority", 0, 77, 5) == EPERM
    assert call("setpriority", 2, PID, 5) == EPERM                  # PRIO_USER
    assert call("ioprio_set", 1, 0, 5) == ALLOW
    assert call("ioprio_set", 3, 0, 5) == EPERM                     # IOPRIO_WHO_USER


def test_prctl_fcntl_ioctl_filters(call):
    assert call("prctl", 4, 1) == EPERM                             # PR_SET_DUMPABLE
    assert call("prctl", 1, 0) == EPERM                             # PR_SET_PDEATHSIG: outlive the zygote
    assert call("prctl", 2, 0) == ALLOW                             # PR_GET_PDEATHSIG
    assert call("prctl", 3) == ALLOW                                # PR_GET_DUMPABLE
    assert call("prctl", 38, 1) == ALLOW                            # PR_SET_NO_NEW_PRIVS
    assert call("prctl", 22, 2, 0) == ALLOW                         # more seccomp: only stricter
    assert call("fcntl", 3, 8, 1) == EPERM                          # F_SETOWN
    assert call("fcntl", 3, 10, 9) == EPERM                         # F_SETSIG
    assert call("fcntl", 3, 3) == ALLOW                             # F_GETFL
    assert call("ioctl", 0, 0x5412, 0) == EPERM                     # TIOCSTI
    assert call("ioctl", 0, 0x5401, 0) == ALLOW                     # TCGETS


def test_foreign_arch_killed_and_x32_refused(arch, call):
    prog = bytes(seccomp.program(PID, arch))
    assert run(prog, 0x40000003, 3) == KILL                         # i386
    if arch == "x86_64":
        assert run(prog, AUDIT[arch], 0x40000000 | 39) == EPERM     # x32 getpid
