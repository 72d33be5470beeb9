"""Checkpoints of a session's namespace, so a killed worker comes back with its state.

After every execute that finishes inside the worker, the worker pickles its user namespace
(cloudpickle, so functions and classes defined in the session travel by value) into a file
descriptor the server opened for it outside the work dir. A fresh worker restoring the
session reads the same descriptor and unpickles it *inside its own jail*: the bytes never
leave the session's trust domain and the server never unpickles them. Modules are stored by
name and re-imported through the policy; the unpickler only resolves globals from the
policy's allowlist and the few modules cloudpickle needs.

Limits: values that cannot be pickled (generators, open files, locks, frames) are dropped
and reported as lost; a checkpoint that doesn't fit beside the previous one within the
session's file-size limit is not taken (the previous one stays); side effects outside the
namespace (files are kept as they are, the work dir is not rolled back).
"""
from __future__ import annotations

import io
import json
import os
import pickle
import struct
import types
import zlib
from dataclasses import dataclass

import cloudpickle

__all__ = ["Checkpointer", "CheckpointStats", "wipe_checkpoint"]

# Globals a checkpoint may reference besides allowed modules: cloudpickle's reconstructors
# and the standard types it builds dynamic functions and classes from.
_INFRA_MODULES = ("cloudpickle", "cloudpickle.cloudpickle", "copyreg", "types", "collections",
                  "_collections_abc", "builtins", "enum", "abc", "functools")
_FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "open", "__import__", "breakpoint", "input",
                       "globals", "locals", "vars", "help", "exit", "quit"}


_LEN = struct.Struct("!I")
_EMPTY_CELL = cloudpickle.cloudpickle._empty_cell_value


@dataclass(frozen=True)
class CheckpointStats:
    saved: bool
    size_bytes: int
    lost_names: tuple[str, ...]
    error: str = ""


class _Pickler(cloudpickle.Pickler):
    def persistent_id(self, obj):
        # Modules (the policy's filtered copies) are re-imported by name on restore.
        if isinstance(obj, types.ModuleType):
            return ("module", obj.__name__)
        return None


class _Unpickler(pickle.Unpickler):
    """Resolves globals only through the sandbox's own view of the world: builtins from the
    session's (guarded) builtins, attributes of allowed modules but never a module or a
    dunder, and cloudpickle's function reconstructors replaced by ones that bind functions to
    the session namespace (cloudpickle's would give them the real builtins)."""

    def __init__(self, data: bytes, import_module, allowed, ns: dict):
        super().__init__(io.BytesIO(data))
        self._import_module = import_module
        self._allowed = allowed
        self._ns = ns

    def persistent_load(self, pid):
        kind, name = pid
        if kind != "module":
            raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")
        return self._import_module(name)

    def find_class(self, module: str, name: str):
        if module == "builtins":
            sandbox = self._ns["__builtins__"]
            if name in _FORBIDDEN_BUILTINS or name not in sandbox:
                raise pickle.UnpicklingError(f"checkpoint references forbidden builtins.{name}")
            return sandbox[name]
        if module in ("cloudpickle", "cloudpickle.cloudpickle"):
            if name == "_make_function":
                return self._make_function
            if name == "_function_setstate":
                return self._function_setstate
        if name.startswith("__") or not (module in _INFRA_MODULES or self._allowed(module)):
            raise pickle.UnpicklingError(f"checkpoint references {module}.{name}, outside the allowlist")
        found = super().find_class(module, name)
        if isinstance(found, types.ModuleType):
            raise pickle.UnpicklingError(f"checkpoint references module {module}.{name}")
        return found

    def _make_function(self, code, _globals, name, argdefs, closure):
        return types.FunctionType(code, self._ns, name, argdefs, closure)

    def _function_setstate(self, obj, state):
        # cloudpickle's version, minus `__globals__["__builtins__"] = builtins`.
        state, slotstate = state
        obj.__dict__.update(state)
        obj_globals = slotstate.pop("__globals__")
        closure_values = slotstate.pop("__closure__")
        slotstate.pop("_cloudpickle_submodules", None)
        for key, value in obj_globals.items():
            self._ns.setdefault(key, value)
        if closure_values is not None:
            for cell, value in zip(obj.__closure__, closure_values):
                if value is not _EMPTY_CELL:
                    cell.cell_contents = value
        for key, value in slotstate.items():
            setattr(obj, key, value)


def _dumps(obj) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


# The file: a commit record at offset 0 naming where the current checkpoint lies, and up to
# two checkpoints after it. A new one is written where it overlaps nothing committed, then the
# record is switched; a worker killed mid-save leaves the previous checkpoint intact.
_RECORD = struct.Struct("!8sQQQI")  # magic, sequence, offset, length, crc32
_MAGIC = b"sandckp1"
_FIRST = 4096


def wipe_checkpoint(fd: int) -> None:
    """Forgets the checkpoint (the server, when one could not be loaded): a zeroed commit
    record reads as "never saved"."""
    os.pwrite(fd, bytes(_RECORD.size), 0)


def _after(offset: int, length: int) -> int:
    return (offset + length + _FIRST - 1) // _FIRST * _FIRST


class Checkpointer:
    """Saves/restores the user part of a namespace through one file descriptor."""

    def __init__(self, fd: int, baseline: frozenset[str], max_bytes: int):
        self._fd = fd
        self._baseline = baseline
        self._max_bytes = max_bytes  # the worker's RLIMIT_FSIZE: no byte may lie past it
        self._seq = 0
        self._committed: tuple[int, int] | None = None  # (offset, length)

    def _user_names(self, ns: dict) -> dict:
        return {k: v for k, v in ns.items() if k not in self._baseline}

    def _slot(self, length: int) -> int | None:
        """Where a checkpoint of `length` bytes can go without touching the committed one."""
        if self._committed is None:
            return _FIRST
        off, size = self._committed
        for candidate in (_FIRST, _after(off, size)):
            end = candidate + length
            if end <= self._max_bytes and (end <= off or candidate >= off + size):
                return candidate
        return None

    def save(self, ns: dict) -> CheckpointStats:
        state = self._user_names(ns)
        lost: list[str] = []
        try:
            data = _dumps(state)
        except Exception:
            # Find the culprits one by one; keep everything else (aliasing between kept
            # names survives because the final dump is still one pickle).
            for name in list(state):
                try:
                    _dumps(state[name])
                except Exception:
                    lost.append(name)
                    del state[name]
            try:
                data = _dumps(state)
            except Exception as exc:
                return CheckpointStats(False, 0, tuple(sorted(lost)), f"{type(exc).__name__}: {exc}")
        header = json.dumps(sorted(lost)).encode()
        payload = _LEN.pack(len(header)) + header + data
        offset = self._slot(len(payload))
        if offset is None:
            return CheckpointStats(False, len(payload), tuple(lost),
                                   f"state of {len(payload)} bytes exceeds the checkpoint limit {self._max_bytes}")
        try:
            os.pwrite(self._fd, payload, offset)
            self._seq += 1
            os.pwrite(self._fd, _RECORD.pack(_MAGIC, self._seq, offset, len(payload), zlib.crc32(payload)), 0)
        except OSError as exc:
            return CheckpointStats(False, len(payload), tuple(lost), f"OSError: {exc}")
        self._committed = (offset, len(payload))
        return CheckpointStats(True, len(payload), tuple(sorted(lost)))

    def load(self, ns: dict, import_module, allowed) -> tuple[bool, tuple[str, ...]]:
        """Restores into ns. Returns (restored, lost names)."""
        record = os.pread(self._fd, _RECORD.size, 0)
        if len(record) < _RECORD.size or record == bytes(_RECORD.size):
            return False, ()  # never saved, or wiped
        magic, seq, offset, length, crc = _RECORD.unpack(record)
        data = os.pread(self._fd, length, offset) if magic == _MAGIC else b""
        if magic != _MAGIC or len(data) != length or zlib.crc32(data) != crc:
            raise ValueError("the checkpoint is damaged")
        self._seq, self._committed = seq, (offset, length)
        (header_len,) = _LEN.unpack_from(data)
        lost = json.loads(data[_LEN.size:_LEN.size + header_len])
        state = _Unpickler(data[_LEN.size + header_len:], import_module, allowed, ns).load()
        ns.update(state)
        return True, tuple(lost)
