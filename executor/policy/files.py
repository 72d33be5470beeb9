"""`open` for user code: paths resolve inside the session's work dir or not at all. Landlock
enforces the same rule in the kernel where it is available; this layer gives the clear
message and covers kernels without it."""
from __future__ import annotations

import io
import os

from executor.policy.names import plain_str

__all__ = ["confined_open", "FileWrites", "NO_OTHER_FILE_WRITERS"]

# Modules that can't create or grow a file except through a file object from `open`. While
# a session allows only these, its work dir can only grow after a writable open().
NO_OTHER_FILE_WRITERS = frozenset({
    "collections", "datetime", "itertools", "math", "queue", "random", "re", "stat", "statistics",
    "time", "unicodedata", "json", "string", "functools", "operator", "decimal", "fractions",
    "heapq", "bisect", "copy", "textwrap", "enum", "numbers", "cmath", "difflib", "pprint",
    "base64", "hashlib", "hmac", "typing", "dataclasses", "calendar", "html", "colorsys",
})
_READ_MODE_CHARS = frozenset("rbt")


class FileWrites:
    """Whether the session's code has opened a file for writing (sticky: a handle kept in a
    variable can write in later cells). Lives in the worker, out of user code's reach."""

    def __init__(self) -> None:
        self.seen = False


def confined_open(workdir: str | None, enabled: bool, writes: FileWrites | None = None):
    root_cache: list[str] = []

    def root() -> str:
        if not root_cache:
            root_cache.append(os.path.realpath(workdir or os.getcwd()))
        return root_cache[0]

    def open(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None,
             closefd=True, opener=None):
        if not enabled:
            raise PermissionError("file access is turned off for this session by the operator; "
                                  "keep data in variables instead")
        if opener is not None or not closefd:
            raise PermissionError("open() with opener= or closefd=False is not allowed in the sandbox")
        if isinstance(file, int):
            raise PermissionError("open() on a file descriptor is not allowed in the sandbox; "
                                  "open a path inside the work dir")
        # An exact str: a str subclass could lie to os.path's startswith/split checks.
        path = plain_str(os.fsdecode(os.fspath(file)), "path")
        if "\0" in path:
            raise ValueError("embedded null character in path")
        base = root()
        full = os.path.realpath(os.path.join(base, path))
        if full != base and not full.startswith(base + os.sep):
            raise PermissionError(f"{path!r} is outside the session's work dir; only paths inside "
                                  "it can be opened (use relative paths such as 'data.csv')")
        if writes is not None and not (type(mode) is str and _READ_MODE_CHARS.issuperset(mode)):
            writes.seen = True
        return io.open(full, mode, buffering, encoding, errors, newline)

    return open
