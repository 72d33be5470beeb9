"""The session worker's OS jail (docs/design.md, "Isolation", layer 2).

Import this in the zygote (everything is precomputed at import: syscall tables, the seccomp
program template, the Landlock ABI and the runtime paths), then call `apply_jail` once in
each forked worker, while it is still single-threaded, before it runs any untrusted code.

Order, and why:
 1. setsid                  own session and group: kill(0) can only reach ourselves
 2. close fds, stdio        every inherited descriptor but keep_fds; 0-2 -> /dev/null
 3. chdir workdir, env      os.environ replaced (defaults: PATH, LANG, HOME/TMPDIR=workdir)
 4. Landlock descriptors    O_PATH per rule, opened while still privileged enough to reach them
 5. uid drop (root only)    gid, groups, uid -> config.uid or 65534; capabilities then cleared
 6. rlimits                 AS, CPU, FSIZE, NOFILE, CORE=0
 7. no_new_privs, dumpable=0
 8. Landlock                best effort: None in the report when the kernel lacks it
 9. seccomp                 last, so nothing above needs a syscall it refuses
A required layer that fails (everything but a kernel without Landlock) raises JailError:
the caller must not run code then.

RLIMIT_NPROC is deliberately not set: it counts every process of the uid, and sessions
share one (the container user, or 65534), so it would let sessions starve each other's
threads. Processes are refused by seccomp; threads are bounded by RLIMIT_AS (their stacks)
and the container's pids limit.
PYTHONHASHSEED is not set: it only acts when an interpreter starts, and a worker is a fork.
"""
from __future__ import annotations

import os
import resource
import time
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Mapping

from executor.jail import landlock, limits, seccomp

__all__ = ["JailConfig", "JailReport", "JailError", "apply_jail", "rehearse", "default_env"]

_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


class JailError(Exception):
    """A required layer of the jail could not be applied: do not run untrusted code."""


def default_env(workdir: str) -> dict[str, str]:
    return {"PATH": _DEFAULT_PATH, "LANG": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir}


@dataclass(frozen=True)
class JailConfig:
    workdir: str                          # the session's own directory: read-write
    readonly_paths: tuple[str, ...] = ()  # extra read-only paths (runtime ones are added)
    memory_bytes: int | None = None       # RLIMIT_AS; must exceed what the fork already maps
    cpu_seconds: int | None = None        # RLIMIT_CPU hard; SIGXCPU one second earlier
    file_size_bytes: int | None = None    # RLIMIT_FSIZE; writes past it fail with EFBIG
    open_files: int | None = 64           # RLIMIT_NOFILE
    keep_fds: tuple[int, ...] = ()        # survive; 0-2 listed here are left as they are
    uid: int | None = None                # used only when running as root (default 65534)
    env: Mapping[str, str] | None = None  # None: default_env(workdir)
    parent_pid: int | None = None         # SIGKILL when it dies (the zygote); None: not set

    def __post_init__(self):
        if self.env is not None:
            object.__setattr__(self, "env", MappingProxyType(dict(self.env)))


@dataclass(frozen=True)
class JailReport:
    seccomp: bool
    landlock_abi: int | None              # None: the kernel lacks Landlock (not applied)
    no_new_privs: bool
    dumpable: bool
    uid: int
    gid: int
    capabilities: int                     # effective capability set afterwards (0)
    workdir: str                          # as resolved
    readonly_paths: tuple[str, ...] = ()  # what Landlock granted read-only
    elapsed_us: float = 0.0               # time apply_jail took
    arch: str = field(default=seccomp.ARCH)


def rehearse(keep_fds: tuple[int, ...]) -> None:
    """Walk apply_jail's code paths without restricting anything: read-only twins of its
    syscalls, and a Landlock ruleset built but never applied. A spare worker calls this while
    it waits for its session, so the copy-on-write faults those paths cause (most of the
    jail's time, on a VM) are taken before a client is waiting, not after. It touches the
    same pages apply_jail would, so the worker's memory is unchanged. The first steps are
    done for real (they don't depend on the session and apply_jail repeats them)."""
    limits.new_session()
    limits.close_fds(tuple(keep_fds))
    limits.stdio_to_devnull(tuple(keep_fds))
    limits.install_env(dict(os.environ))
    limits.mapped_bytes()
    limits._capabilities()
    limits.prctl(limits._PR_GET_NO_NEW_PRIVS)
    limits.prctl(limits._PR_GET_DUMPABLE)
    for rlim in (resource.RLIMIT_CORE, resource.RLIMIT_AS, resource.RLIMIT_CPU, resource.RLIMIT_FSIZE,
                 resource.RLIMIT_NOFILE):
        resource.setrlimit(rlim, resource.getrlimit(rlim))
    if landlock.ABI is not None:
        rules = landlock.open_runtime_rules()
        try:
            landlock.build(rules)
        finally:
            landlock.close_rules(rules)
    seccomp.program(os.getpid())
    asdict(JailReport(seccomp=True, landlock_abi=landlock.ABI, no_new_privs=True, dumpable=False,
                      uid=os.getuid(), gid=os.getgid(), capabilities=0, workdir=os.getcwd()))


def apply_jail(config: JailConfig) -> JailReport:
    """Jail the calling process for good. Call once, single-threaded, right after the fork."""
    t0 = time.perf_counter()
    step = "setsid"
    rules: list[landlock.Rule] = []
    try:
        limits.new_session()
        step = "closing descriptors"
        keep = tuple(config.keep_fds)
        limits.close_fds(keep)
        limits.stdio_to_devnull(keep)
        step = "entering the workdir"
        wd_fd = os.open(config.workdir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fchdir(wd_fd)
            workdir = os.getcwd()
            step = "environment"
            limits.install_env(default_env(workdir) if config.env is None else config.env)
            if landlock.ABI is not None:
                step = "opening Landlock paths"
                rules = landlock.open_rules(wd_fd, workdir, tuple(config.readonly_paths))
        finally:
            os.close(wd_fd)
        step = "dropping uid"
        uid = limits.drop_identity(config.uid)
        caps = limits.clear_capabilities()
        if caps:
            raise JailError(f"capabilities survived the uid drop: {caps:#x}")
        step = "rlimits"
        if config.memory_bytes is not None:
            mapped = limits.mapped_bytes()
            if mapped is not None and config.memory_bytes <= mapped:
                raise JailError(f"memory_bytes={config.memory_bytes} is not above the "
                                f"{mapped} bytes the forked runtime already maps")
        limits.set_rlimits(config.memory_bytes, config.cpu_seconds,
                           config.file_size_bytes, config.open_files)
        if config.parent_pid is not None:
            step = "parent-death signal"
            limits.die_with_parent(config.parent_pid)
        step = "prctl"
        nnp = limits.no_new_privs()
        dumpable = limits.not_dumpable()
        if not nnp or dumpable:
            raise JailError("no_new_privs or non-dumpable did not stick")
        abi = None
        if rules:
            step = "Landlock"
            abi = landlock.enforce(rules)
        step = "seccomp"
        seccomp.install(os.getpid())
    except JailError:
        raise
    except Exception as exc:
        raise JailError(f"jail failed while {step}: {exc}") from exc
    finally:
        landlock.close_rules(rules)
    return JailReport(
        seccomp=True, landlock_abi=abi, no_new_privs=nnp, dumpable=dumpable,
        uid=uid, gid=os.getegid(), capabilities=caps, workdir=workdir,
        readonly_paths=tuple(r.path for r in rules[1:]) if abi else (),
        elapsed_us=round((time.perf_counter() - t0) * 1e6, 1),
    )
