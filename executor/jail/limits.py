"""Process-level layers of the jail: session, descriptors, environment, identity, rlimits,
no_new_privs and dumpability. Each step is one or two syscalls; apply_jail orders them."""
from __future__ import annotations

import ctypes
import os
import resource
import signal
import struct
import sys
from typing import Mapping

from executor.jail._libc import ARCH, prctl, syscall

__all__ = [
    "new_session", "close_fds", "stdio_to_devnull", "install_env", "drop_identity",
    "clear_capabilities", "set_rlimits", "mapped_bytes", "no_new_privs", "not_dumpable",
    "die_with_parent", "NOBODY",
]

NOBODY = 65534          # who a root worker becomes when the config names no uid
_CLOSE_RANGE = 436      # same number on x86_64 and aarch64
_CAPGET, _CAPSET = {"aarch64": (90, 91)}.get(ARCH, (125, 126))
_CAP_V3 = 0x20080522
_PR_SET_NO_NEW_PRIVS, _PR_GET_NO_NEW_PRIVS = 38, 39
_PR_SET_DUMPABLE, _PR_GET_DUMPABLE = 4, 3
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_PAGE = os.sysconf("SC_PAGE_SIZE")
_UINT_MAX = 0xFFFFFFFF


def new_session() -> None:
    """Become a session and process-group leader of our own, so kill(0, ...) and job-control
    signals reach only this process (seccomp allows kill(0) on that basis)."""
    try:
        os.setsid()
    except PermissionError:
        if os.getsid(0) != os.getpid():  # EPERM only means we already lead a group
            raise


def close_fds(keep: tuple[int, ...]) -> None:
    """Close every descriptor >= 3 that is not in `keep` (close_range: one call per gap)."""
    lo = 3
    for fd in sorted({k for k in keep if k >= 3}) + [_UINT_MAX + 1]:
        if fd > lo:
            try:
                syscall(_CLOSE_RANGE, lo, fd - 1, 0, what="close_range")
            except OSError:  # kernel < 5.9: the slow way
                os.closerange(lo, min(fd, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        lo = fd + 1


def stdio_to_devnull(keep: tuple[int, ...]) -> None:
    """Point 0, 1, 2 (unless kept) at /dev/null; opened before Landlock, which would refuse."""
    targets = [fd for fd in (0, 1, 2) if fd not in keep]
    if not targets:
        return
    null = os.open(os.devnull, os.O_RDWR)
    for fd in targets:
        if fd != null:
            os.dup2(null, fd)
    if null not in targets:
        os.close(null)


def install_env(env: Mapping[str, str]) -> None:
    """Replace the environment (os.environ and the C environ it mirrors)."""
    # Key by key rather than clear()/update(): MutableMapping's generic clear() runs far
    # more Python, and every page it touches is copied into each worker.
    for key in [k for k in os.environ if k not in env]:
        del os.environ[key]
    for key, value in env.items():
        os.environ[key] = value
    tempfile = sys.modules.get("tempfile")
    if tempfile is not None:  # it caches the directory the zygote saw
        tempfile.tempdir = env.get("TMPDIR")


def drop_identity(uid: int | None) -> int:
    """If any of our uids is 0, become `uid` (default NOBODY) for real, effective and saved
    uid and gid, with no supplementary groups: the kernel then clears every capability.
    The workdir (our cwd by now) is handed to that uid. Not root: nothing to do."""
    if 0 not in os.getresuid():
        return os.geteuid()
    target = NOBODY if uid is None else uid
    if target == 0:
        raise ValueError("a jailed worker may not keep uid 0")
    st = os.stat(".")
    if st.st_uid != target:
        os.chown(".", target, target)
    os.setgroups([])
    os.setresgid(target, target, target)  # gid before uid: afterwards we could not
    os.setresuid(target, target, target)
    return target


def _capabilities() -> tuple[ctypes.Array, ctypes.Array]:
    head = ctypes.create_string_buffer(struct.pack("=Ii", _CAP_V3, 0), 8)
    data = ctypes.create_string_buffer(24)  # two {effective, permitted, inheritable} u32 triples
    syscall(_CAPGET, ctypes.addressof(head), ctypes.addressof(data), what="capget")
    return head, data


def clear_capabilities() -> int:
    """Drop whatever capabilities a non-root process still holds (file or ambient caps);
    lowering is always allowed. Returns the effective set afterwards (0)."""
    head, data = _capabilities()
    if any(data.raw):
        try:
            prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
        except OSError:
            pass
        syscall(_CAPSET, ctypes.addressof(head), ctypes.addressof(ctypes.create_string_buffer(24)),
                what="capset")
        head, data = _capabilities()
    eff_lo, _, _, eff_hi, _, _ = struct.unpack("=6I", data.raw)
    return eff_lo | eff_hi << 32


def mapped_bytes() -> int | None:
    """Address space the forked runtime already maps (read before Landlock hides /proc)."""
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return None
    try:
        return int(os.read(fd, 64).split()[0]) * _PAGE
    finally:
        os.close(fd)


def set_rlimits(memory_bytes: int | None, cpu_seconds: int | None,
                file_size_bytes: int | None, open_files: int | None) -> None:
    """RLIMIT_AS, RLIMIT_CPU (SIGXCPU at cpu_seconds-1, SIGKILL at cpu_seconds),
    RLIMIT_FSIZE (SIGXFSZ ignored, so an oversized write fails with EFBIG),
    RLIMIT_NOFILE, and no core dumps. Soft = hard, so the worker cannot raise them again."""
    setr = resource.setrlimit
    setr(resource.RLIMIT_CORE, (0, 0))
    if memory_bytes is not None:
        setr(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    if cpu_seconds is not None:
        hard = max(1, int(cpu_seconds))
        setr(resource.RLIMIT_CPU, (max(1, hard - 1), hard))
    if file_size_bytes is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        setr(resource.RLIMIT_FSIZE, (file_size_bytes, file_size_bytes))
    if open_files is not None:
        setr(resource.RLIMIT_NOFILE, (open_files, open_files))


def no_new_privs() -> bool:
    prctl(_PR_SET_NO_NEW_PRIVS, 1)
    return prctl(_PR_GET_NO_NEW_PRIVS) == 1


_PR_SET_PDEATHSIG, _PR_GET_PDEATHSIG = 1, 2


def die_with_parent(parent_pid: int) -> None:
    """SIGKILL when the parent (the zygote) dies, so no worker outlives the server. Set after
    any uid change (a credential change clears it); then the parent is checked to be the one
    we were forked by, in case it died before the setting took. seccomp forbids clearing it."""
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    got = ctypes.c_int(0)
    prctl(_PR_GET_PDEATHSIG, ctypes.addressof(got))
    if got.value != signal.SIGKILL:
        raise OSError(f"the parent-death signal did not stick ({got.value})")
    if os.getppid() != parent_pid:
        os._exit(0)  # the parent is gone already: nobody waits for this worker


def not_dumpable() -> bool:
    """Non-dumpable: /proc/<pid>/ files become root's, ptrace-style access from other
    processes of the same uid is refused, and no core is written. Returns dumpable-ness."""
    prctl(_PR_SET_DUMPABLE, 0)
    return prctl(_PR_GET_DUMPABLE) != 0
