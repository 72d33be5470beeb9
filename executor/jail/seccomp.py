"""The session worker's seccomp filter: hand-assembled classic BPF, installed last.

Policy: allow by default, refuse a listed set. A refused call returns an errno (EPERM, so
Python raises PermissionError with a clear message; ENOSYS for clone3 so glibc falls back to
clone for threads) rather than killing the worker, so a probing session survives to be told.
A foreign architecture (or, on x86_64, the x32 ABI) never matches the syscall numbers
below, so it is killed / refused before any number is looked at.

What is refused, and why:
- new sockets and endpoints: socket, connect, bind, listen, accept, accept4, and socketpair
  of any family but AF_UNIX. The worker talks over one already-connected channel it
  inherits; the one exception is what every asyncio event loop makes for its self-pipe:
  an anonymous AF_UNIX pair, two connected ends that reach nothing outside the process.
- new programs and processes: execve, execveat, fork, vfork; clone unless it makes a thread
  (CLONE_THREAD set, no namespace flag); clone3 -> ENOSYS (its flags sit in memory, which
  a filter cannot read).
- other processes: ptrace, process_vm_readv/writev, kcmp, pidfd_open/getfd/send_signal,
  process_madvise, process_mrelease, tkill (a bare tid may be anyone's); kill,
  rt_sigqueueinfo, tgkill, rt_tgsigqueueinfo only to the worker itself (kill also to 0 and
  -pid: the worker is its own one-process group after setsid); prlimit64, sched_setaffinity,
  sched_setscheduler, sched_setparam, sched_setattr, setpriority, ioprio_set only on itself
  (sessions may share a uid, which alone would let one re-limit or starve another);
  fcntl F_SETOWN/F_SETOWN_EX/F_SETSIG and ioctl FIOSETOWN/SIOCSPGRP (SIGIO delivery may
  name any pid of the same uid, with any signal), ioctl TIOCSTI/TIOCLINUX (tty injection).
- identity: setuid/setgid/setreuid/setregid/setresuid/setresgid/setgroups/setfsuid/
  setfsgid, capset (the uid was dropped before; there is nothing to regain);
  prctl PR_SET_DUMPABLE (must stay non-dumpable), PR_SET_PDEATHSIG (must die with the zygote),
  PR_SET_PTRACER, PR_SET_MM.
- the kernel and the machine: mount, umount2, pivot_root, chroot, the new mount API
  (open_tree, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr), setns, unshare,
  bpf, kexec_load, kexec_file_load, init_module, finit_module, delete_module, reboot,
  swapon, swapoff, keyctl, add_key, request_key, perf_event_open, userfaultfd,
  open_by_handle_at, name_to_handle_at, iopl, ioperm, acct, settimeofday, clock_settime,
  clock_adjtime, adjtimex, personality, io_uring_* (its operations bypass seccomp),
  fanotify_init, quotactl, quotactl_fd, syslog, vhangup, sethostname, setdomainname,
  mbind, migrate_pages, move_pages, and obsolete calls (uselib, lookup_dcookie, ...).
- shared IPC namespaces: System V shm/msg/sem and POSIX mqueues (mq_*) are keyed
  machine-wide, so two sessions could meet there.
"""
from __future__ import annotations

import ctypes
import errno
import struct

from executor.jail._libc import ARCH, prctl

__all__ = ["SUPPORTED", "install", "program", "syscall_number"]

# name  x86_64  aarch64   ("-": the architecture has no such call)
_TABLE = """
socket 41 198  socketpair 53 199  connect 42 203  bind 49 200  listen 50 201  accept 43 202
accept4 288 242  execve 59 221  execveat 322 281  fork 57 -  vfork 58 -  clone 56 220
clone3 435 435  ptrace 101 117  process_vm_readv 310 270  process_vm_writev 311 271
kcmp 312 272  pidfd_open 434 434  pidfd_getfd 438 438  pidfd_send_signal 424 424
process_madvise 440 440  process_mrelease 448 448  kill 62 129  tgkill 234 131  tkill 200 130
rt_sigqueueinfo 129 138  rt_tgsigqueueinfo 297 240  mount 165 40  umount2 166 39
pivot_root 155 41  chroot 161 51  bpf 321 280  kexec_load 246 104  kexec_file_load 320 294
init_module 175 105  finit_module 313 273  delete_module 176 106  reboot 169 142
swapon 167 224  swapoff 168 225  setns 308 268  unshare 272 97  keyctl 250 219
add_key 248 217  request_key 249 218  perf_event_open 298 241  userfaultfd 323 282
open_by_handle_at 304 265  name_to_handle_at 303 264  iopl 172 -  ioperm 173 -  acct 163 89
settimeofday 164 170  clock_settime 227 112  clock_adjtime 305 266  adjtimex 159 171
personality 135 92  io_uring_setup 425 425  io_uring_enter 426 426  io_uring_register 427 427
fanotify_init 300 262  quotactl 179 60  quotactl_fd 443 443  syslog 103 116  vhangup 153 58
mbind 237 235  migrate_pages 256 238  move_pages 279 239  setuid 105 146  setgid 106 144
setreuid 113 145  setregid 114 143  setresuid 117 147  setresgid 119 149  setgroups 116 159
setfsuid 122 151  setfsgid 123 152  capset 126 91  prctl 157 167  prlimit64 302 261
sched_setaffinity 203 122  sched_setscheduler 144 119  sched_setparam 142 118
sched_setattr 314 274  setpriority 141 140  ioprio_set 251 30  fcntl 72 25  ioctl 16 29
shmget 29 194  shmat 30 196  shmctl 31 195  shmdt 67 197  msgget 68 186  msgsnd 69 189
msgrcv 70 188  msgctl 71 187  semget 64 190  semop 65 193  semctl 66 191  semtimedop 220 192
mq_open 240 180  mq_unlink 241 181  mq_timedsend 242 182  mq_timedreceive 243 183
mq_notify 244 184  mq_getsetattr 245 185  open_tree 428 428  move_mount 429 429
fsopen 430 430  fsconfig 431 431  fsmount 432 432  fspick 433 433  mount_setattr 442 442
sethostname 170 161  setdomainname 171 162  uselib 134 -  lookup_dcookie 212 18
create_module 174 -  get_kernel_syms 177 -  query_module 178 -  nfsservctl 180 42  _sysctl 156 -
"""
_COLUMN = {"x86_64": 1, "aarch64": 2}
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
SUPPORTED = ARCH in _COLUMN


def _numbers(arch: str) -> dict[str, int]:
    words = _TABLE.split()
    col = _COLUMN[arch]
    return {words[i]: int(words[i + col]) for i in range(0, len(words), 3) if words[i + col] != "-"}


_NR = _numbers(ARCH) if SUPPORTED else {}


def syscall_number(name: str) -> int | None:
    return _NR.get(name)


# --- classic BPF ------------------------------------------------------------------------
_LD_ABS = 0x20                            # BPF_LD | BPF_W | BPF_ABS
_JEQ, _JGE, _JSET = 0x15, 0x35, 0x45      # BPF_JMP | op | BPF_K
_RET = 0x06                               # BPF_RET | BPF_K
_OFF_NR, _OFF_ARCH = 0, 4                 # struct seccomp_data
_ALLOW = 0x7FFF0000
_KILL_PROCESS = 0x80000000
_X32_BIT = 0x40000000


def _errno(e: int) -> int:
    return 0x00050000 | e


_EPERM = _errno(errno.EPERM)


def _arg(i: int) -> int:
    # Low 32 bits of args[i] (little-endian). Every argument checked here is an int, pid_t or
    # unsigned int in the kernel's prototype, so the kernel itself only ever sees these bits.
    return 16 + 8 * i


class _Own:
    """A constant filled in after the fork: the worker's own pid, or its negation."""
    def __init__(self, sign: int):
        self.sign = sign


PID, NEG_PID = _Own(1), _Own(-1)


class _Block:
    """Straight-line code with forward jumps to labels inside the block (all < 256 apart)."""
    def __init__(self):
        self.ins: list[list] = []
        self.labels: dict[str, int] = {}

    def ld(self, off):
        self.ins.append([_LD_ABS, 0, 0, off])

    def jmp(self, op, k, jt=None, jf=None):
        self.ins.append([op, jt, jf, k])

    def ret(self, k, label=None):
        if label:
            self.labels[label] = len(self.ins)
        self.ins.append([_RET, 0, 0, k])

    def resolve(self) -> list[list]:
        for i, ins in enumerate(self.ins):
            for slot in (1, 2):
                tgt = ins[slot]
                if isinstance(tgt, str):
                    ins[slot] = self.labels[tgt] - i - 1
                elif tgt is None:
                    ins[slot] = 0
                assert 0 <= ins[slot] < 256
        return self.ins


def _only_if(*conds: tuple[int, tuple]) -> _Block:
    """Allow iff, for every (arg, values), the arg's low word is one of values."""
    b = _Block()
    for n, (arg, values) in enumerate(conds):
        b.ld(_arg(arg))
        for v in values[:-1]:
            b.jmp(_JEQ, v, jt=f"c{n}")
        b.jmp(_JEQ, values[-1], jf="deny")
        b.labels[f"c{n}"] = len(b.ins)
    b.ret(_ALLOW)
    b.ret(_EPERM, "deny")
    return b


def _unless(arg: int, values: tuple) -> _Block:
    """Refuse iff the arg's low word is one of values."""
    b = _Block()
    b.ld(_arg(arg))
    for v in values:
        b.jmp(_JEQ, v, jt="deny")
    b.ret(_ALLOW)
    b.ret(_EPERM, "deny")
    return b


def _threads_only() -> _Block:
    CLONE_THREAD = 0x00010000
    CLONE_NEWS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
    b = _Block()
    b.ld(_arg(0))  # clone's flags come first on both architectures
    b.jmp(_JSET, CLONE_THREAD, jf="deny")
    b.jmp(_JSET, CLONE_NEWS, jt="deny")
    b.ret(_ALLOW)
    b.ret(_EPERM, "deny")
    return b


def _ret(k: int) -> _Block:
    b = _Block()
    b.ret(k)
    return b


_SELF = (0, PID)
_RULES: dict[str, _Block] = {
    "kill": _only_if((0, (PID, 0, NEG_PID))),
    "rt_sigqueueinfo": _only_if((0, (PID,))),
    "tgkill": _only_if((0, (PID,))),
    "rt_tgsigqueueinfo": _only_if((0, (PID,))),
    "prlimit64": _only_if((0, _SELF)),
    "sched_setaffinity": _only_if((0, _SELF)),
    "sched_setscheduler": _only_if((0, _SELF)),
    "sched_setparam": _only_if((0, _SELF)),
    "sched_setattr": _only_if((0, _SELF)),
    "setpriority": _only_if((0, (0,)), (1, _SELF)),      # PRIO_PROCESS only
    "ioprio_set": _only_if((0, (1,)), (1, _SELF)),       # IOPRIO_WHO_PROCESS only
    "socketpair": _only_if((0, (1,))),                    # AF_UNIX only (asyncio's self-pipe)
    "clone": _threads_only(),
    "clone3": _ret(_errno(errno.ENOSYS)),
    # PR_SET_PDEATHSIG (must keep dying with the zygote), PR_SET_DUMPABLE, PR_SET_MM, PR_SET_PTRACER
    "prctl": _unless(0, (1, 4, 35, 0x59616D61)),
    # F_SETOWN, F_SETSIG, F_SETOWN_EX
    "fcntl": _unless(1, (8, 10, 15)),
    # TIOCSTI, TIOCLINUX, FIOSETOWN, SIOCSPGRP
    "ioctl": _unless(1, (0x5412, 0x541C, 0x8901, 0x8902)),
}


def _leaf(entries: list) -> list[list]:
    """A few syscalls, tested one by one: plain refusals share one return."""
    plain = [nr for nr, block in entries if block is None]
    code = [[_JEQ, None, 0, nr] for nr in plain]
    for nr, block in entries:
        if block is not None:
            body = _Block()
            body.ins = [list(i) for i in block.ins]
            body.labels = dict(block.labels)
            body_code = body.resolve()
            code.append([_JEQ, 0, len(body_code), nr])
            code += body_code
    code.append([_RET, 0, 0, _ALLOW])
    for i in range(len(plain)):
        code[i][1] = len(code) - i - 1
    code.append([_RET, 0, 0, _EPERM])
    return code


def _dispatch(entries: list) -> list[list]:
    """Binary search on the syscall number: a handful of jumps per syscall, for the filter
    at run time and for the kernel's per-syscall "always allowed" cache when it is attached."""
    if len(entries) <= 8:
        return _leaf(entries)
    mid = len(entries) // 2
    left, right = _dispatch(entries[:mid]), _dispatch(entries[mid:])
    assert len(left) < 256
    return [[_JGE, len(left), 0, entries[mid][0]]] + left + right


def _assemble(arch: str) -> tuple[bytes, list[tuple[int, _Own]]]:
    """The filter as struct sock_filter bytes, plus where to write the worker's pid."""
    head = _Block()
    head.ld(_OFF_ARCH)
    head.jmp(_JEQ, _AUDIT_ARCH[arch], jt="go")
    head.ret(_KILL_PROCESS)
    head.labels["go"] = len(head.ins)
    head.ld(_OFF_NR)
    if arch == "x86_64":
        head.jmp(_JGE, _X32_BIT, jf="go2")
        head.ret(_EPERM)
        head.labels["go2"] = len(head.ins)
    prog = head.resolve()
    entries = sorted((nr, _RULES.get(name)) for name, nr in _numbers(arch).items())
    prog += _dispatch(entries)
    out = bytearray()
    holes = []
    for code, jt, jf, k in prog:
        if isinstance(k, _Own):
            holes.append((len(out) + 4, k))
            k = 0
        out += struct.pack("=HBBI", code, jt, jf, k)
    return bytes(out), holes


_TEMPLATE, _HOLES = _assemble(ARCH) if SUPPORTED else (b"", [])


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def program(pid: int, arch: str = ARCH) -> bytearray:
    """The filter for a worker whose pid is `pid` (another arch: for tests only)."""
    template, holes = (_TEMPLATE, _HOLES) if arch == ARCH else _assemble(arch)
    buf = bytearray(template)
    for off, own in holes:
        struct.pack_into("=I", buf, off, (own.sign * pid) & 0xFFFFFFFF)
    return buf


def install(pid: int) -> None:
    """Install the filter on the calling (single-threaded) process. Needs no_new_privs."""
    if not SUPPORTED:
        raise OSError(errno.ENOSYS, f"no seccomp filter for architecture {ARCH}")
    buf = program(pid)
    cbuf = (ctypes.c_char * len(buf)).from_buffer(buf)
    fprog = _SockFprog(len(buf) // 8, ctypes.addressof(cbuf))
    PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
