"""Landlock: confine file access to the session's workdir (read-write) plus read-only runtime
paths; at ABI >= 4 refuse every TCP bind/connect; at ABI >= 6 scope signals and abstract
Unix sockets to the worker's own domain.

Best effort by design: a kernel without Landlock (or a container seccomp profile that hides
it) leaves `ABI` None and the jail reports that. Where the kernel has it, failing to apply it
is an error. Landlock checks the *resolved* path, so symlinks and /proc/self/root/... magic
links in the workdir lead nowhere the rules do not already allow.

Read-only runtime paths (computed at import, in the zygote): sys.prefix, sys.base_prefix,
sys.exec_prefix, sys.base_exec_prefix, the absolute sys.path entries that exist (outside
those prefixes only their packages and modules: such an entry is usually the server's working
directory, whose other files are none of a session's business), /usr/lib,
/usr/lib64, /lib, /lib64, /usr/local/lib, /usr/share/zoneinfo, /etc/localtime; /dev/null
read-write; /dev/urandom, /dev/random, /dev/zero read-only. Never: "/", /proc, /sys, /dev,
/tmp, /run, /home, /root, /etc as a whole, nor any path that contains the workdir (it would
expose the sibling sessions' directories). Nothing is executable (exec is refused anyway).
"""
from __future__ import annotations

import ctypes
import os
import stat
import struct
import sys

from executor.jail._libc import syscall

__all__ = ["ABI", "RUNTIME_PATHS", "Rule", "open_rules", "close_rules", "enforce"]

_CREATE, _ADD_RULE, _RESTRICT = 444, 445, 446  # same numbers on x86_64 and aarch64
_VERSION_FLAG = 1                               # LANDLOCK_CREATE_RULESET_VERSION
_RULE_PATH_BENEATH = 1

# LANDLOCK_ACCESS_FS_*
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK = 1 << 8, 1 << 9, 1 << 10, 1 << 11
MAKE_SYM, REFER, TRUNCATE, IOCTL_DEV = 1 << 12, 1 << 13, 1 << 14, 1 << 15


def _probe() -> int | None:
    try:
        abi = syscall(_CREATE, 0, 0, _VERSION_FLAG, what="landlock_create_ruleset")
    except OSError:  # ENOSYS, EOPNOTSUPP (built but disabled), EPERM (hidden by a seccomp profile)
        return None
    return abi if abi >= 1 else None


ABI = _probe()


def _handled_fs(abi: int) -> int:
    mask = (1 << 13) - 1
    if abi >= 2:
        mask |= REFER
    if abi >= 3:
        mask |= TRUNCATE
    if abi >= 5:
        mask |= IOCTL_DEV
    return mask


RO_DIR = READ_FILE | READ_DIR
RO_FILE = READ_FILE
# The workdir: everything but exec, device nodes and socket files (bind is refused anyway).
RW_DIR = ((1 << 16) - 1) & ~(EXECUTE | MAKE_CHAR | MAKE_BLOCK | MAKE_SOCK | IOCTL_DEV)
_DEVICES = (("/dev/null", READ_FILE | WRITE_FILE | TRUNCATE),
            ("/dev/urandom", READ_FILE), ("/dev/random", READ_FILE), ("/dev/zero", READ_FILE))
_TOO_BROAD = frozenset(("/", "/proc", "/sys", "/dev", "/tmp", "/var", "/var/tmp", "/dev/shm", "/run",
                        "/home", "/root", "/etc", "/usr", "/mnt", "/media", "/srv", "/opt"))


_MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pyd")


def _importable(entry: str) -> list[str]:
    """What can be imported from a sys.path directory: its packages and module files.

    A sys.path entry outside the interpreter's prefixes is usually the server's working
    directory (`python -m` puts it first): granting it whole would let sessions read whatever
    lies there (a checkout's .git, a token file, TLS keys). Only its code is needed."""
    try:
        names = sorted(os.listdir(entry))
    except OSError:
        return []
    out = []
    for name in names:
        path = os.path.join(entry, name)
        if os.path.isdir(path) and name.isidentifier() and os.path.isfile(os.path.join(path, "__init__.py")):
            out.append(path)
        elif name.endswith(_MODULE_SUFFIXES) and os.path.isfile(path) and name.split(".")[0].isidentifier():
            out.append(path)
    return out


def _runtime_paths() -> tuple[tuple[str, int], ...]:
    prefixes = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    roots = [os.path.realpath(p) for p in prefixes]
    entries = []
    for p in sys.path:
        if not os.path.isabs(p):
            continue
        real = os.path.realpath(p)
        if os.path.isdir(real) and not any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots):
            entries.extend(_importable(real))
        else:
            entries.append(p)  # beneath a prefix, or a zip file
    wanted = [*prefixes, *entries,
              "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib",
              "/usr/share/zoneinfo", "/etc/localtime"]
    found: dict[str, int] = {}
    for p in wanted:
        real = os.path.realpath(p)
        if real in _TOO_BROAD or real in found:
            continue
        if os.path.isdir(real):
            found[real] = RO_DIR
        elif os.path.isfile(real):
            found[real] = RO_FILE
    # Drop paths already beneath another one: fewer rules, faster to apply.
    roots = sorted(found, key=len)
    kept = [p for p in roots if not any(p.startswith(r.rstrip("/") + "/") for r in roots if r != p)]
    return tuple((p, found[p]) for p in sorted(kept)) + tuple(
        (p, acc) for p, acc in _DEVICES if os.path.exists(p))


RUNTIME_PATHS = _runtime_paths()


class Rule:
    __slots__ = ("fd", "access", "path")

    def __init__(self, fd: int, access: int, path: str):
        self.fd, self.access, self.path = fd, access, path


def _contains(parent: str, child: str) -> bool:
    return child == parent or child.startswith(parent.rstrip("/") + "/")


def open_runtime_rules() -> list[Rule]:
    """An O_PATH descriptor per runtime path (for rehearse(): they don't depend on a session)."""
    rules = []
    for path, access in RUNTIME_PATHS:
        try:
            rules.append(Rule(os.open(path, os.O_PATH | os.O_CLOEXEC), access, path))
        except OSError:
            pass  # vanished since import: simply not granted
    return rules


def open_rules(workdir_fd: int, workdir: str, readonly_paths: tuple[str, ...]) -> list[Rule]:
    """Open an O_PATH descriptor per rule. Done before the uid drop so that a path the new
    uid cannot reach still gets its rule (the kernel's permission checks still apply)."""
    rules = [Rule(os.dup(workdir_fd), RW_DIR, workdir)]
    flags = os.O_PATH | os.O_CLOEXEC
    for rule in open_runtime_rules():
        if _contains(rule.path, workdir):
            os.close(rule.fd)  # a runtime path holding the work dirs would expose the others
        else:
            rules.append(rule)
    for path in readonly_paths:
        real = os.path.realpath(path)
        if real in _TOO_BROAD or _contains(real, workdir):
            raise ValueError(f"read-only path {path!r} is too broad: it would expose other sessions")
        try:
            fd = os.open(real, flags)
        except FileNotFoundError:
            continue
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        rules.append(Rule(fd, RO_DIR if is_dir else RO_FILE, real))
    return rules


def close_rules(rules: list[Rule]) -> None:
    for r in rules:
        try:
            os.close(r.fd)
        except OSError:
            pass


def enforce(rules: list[Rule]) -> int:
    """Build a ruleset from `rules` and restrict the calling thread. Needs no_new_privs.
    Returns the ABI used. The caller closes the rule descriptors."""
    rs = build(rules)
    try:
        syscall(_RESTRICT, rs, 0, what="landlock_restrict_self")
    finally:
        os.close(rs)
    return ABI


def build(rules: list[Rule]) -> int:
    """The ruleset for `rules`, as a descriptor; nothing is restricted until it is enforced."""
    abi = ABI
    assert abi is not None
    fs = _handled_fs(abi)
    net = 0b11 if abi >= 4 else 0   # TCP bind + connect, with no rule allowing any port
    scoped = 0b11 if abi >= 6 else 0  # abstract Unix sockets + signals
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    attr = ctypes.create_string_buffer(struct.pack("=QQQ", fs, net, scoped)[:size], size)
    rs = syscall(_CREATE, ctypes.addressof(attr), size, 0, what="landlock_create_ruleset")
    try:
        beneath = ctypes.create_string_buffer(12)
        addr = ctypes.addressof(beneath)
        for r in rules:
            access = r.access & fs
            if not access:
                continue
            struct.pack_into("=Qi", beneath, 0, access, r.fd)
            syscall(_ADD_RULE, rs, _RULE_PATH_BENEATH, addr, 0, what=f"landlock_add_rule({r.path})")
    except BaseException:
        os.close(rs)
        raise
    return rs
