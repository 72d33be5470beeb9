"""The few libc entry points the jail needs, bound once at import (in the zygote) so a worker
pays no symbol lookup after the fork."""
from __future__ import annotations

import ctypes
import os

__all__ = ["ARCH", "syscall", "prctl", "errno_call"]

ARCH = os.uname().machine  # "x86_64" or "aarch64"; seccomp refuses anything else

_libc = ctypes.CDLL(None, use_errno=True)

_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_syscall.argtypes = [ctypes.c_long] * 6

_prctl = _libc.prctl
_prctl.restype = ctypes.c_int
_prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def errno_call(ret: int, what: str) -> int:
    """Turn a C-style -1 return into OSError carrying errno, like the os module does."""
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def syscall(nr: int, a: int = 0, b: int = 0, c: int = 0, d: int = 0, e: int = 0, *, what: str = "syscall") -> int:
    return errno_call(_syscall(nr, a, b, c, d, e), what)


def prctl(option: int, a: int = 0, b: int = 0, c: int = 0, d: int = 0) -> int:
    return errno_call(_prctl(option, a, b, c, d), f"prctl({option})")
