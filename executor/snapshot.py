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

import fcntl
import io
import json
import os
import pickle
import struct
import types
import zlib
from dataclasses import dataclass

import cloudpickle

__all__ = ["Checkpointer", "CheckpointStats", "checkpoint_fd", "wipe_checkpoint"]

# What a checkpoint may name besides the session's builtins and its allowed modules (which
# resolve through the policy's filtered copies): what cloudpickle needs to rebuild plain
# values, user functions and classes, and nothing that imports or looks up by name —
# cloudpickle's subimport/dynamic_subimport would hand out the real sys or builtins.
_CLOUDPICKLE_OK = frozenset({"_class_setstate", "_make_cell", "_make_empty_cell", "_make_skeleton_class",
                             "_make_skeleton_enum", "_get_dataclass_field_type_sentinel", "_make_dict_keys",
                             "_make_dict_values", "_make_dict_items", "_make_typevar"})
_INFRA = frozenset({
    ("abc", "ABC"), ("abc", "ABCMeta"), ("functools", "partial"), ("_thread", "get_ident"),
    ("enum", "Enum"), ("enum", "IntEnum"), ("enum", "Flag"), ("enum", "IntFlag"), ("enum", "StrEnum"),
    ("enum", "EnumType"), ("enum", "EnumMeta"), ("enum", "Enum.__new__"),
    ("collections", "OrderedDict"), ("collections", "defaultdict"), ("collections", "deque"),
    ("collections", "Counter"), ("collections", "ChainMap"), ("collections", "_tuplegetter"),
    ("dataclasses", "Field"), ("dataclasses", "_DataclassParams"), ("dataclasses", "_HAS_DEFAULT_FACTORY_CLASS"),
    ("dataclasses", "_MISSING_TYPE"), ("dataclasses", "_replace"), ("dataclasses", "MISSING"),
    ("dataclasses", "KW_ONLY"), ("dataclasses", "_KW_ONLY_TYPE"),
    ("typing", "NamedTuple"), ("typing", "Generic"), ("typing", "Protocol"), ("re", "_compile"),
    ("copyreg", "_reconstructor"),
})
# types cloudpickle's _builtin_type may return: those of functions, methods and classes.
_BUILTIN_TYPES = frozenset({"LambdaType", "FunctionType", "CodeType", "CellType", "MethodType", "MappingProxyType",
                            "SimpleNamespace", "NoneType", "EllipsisType", "NotImplementedType", "GenericAlias",
                            "UnionType", "ClassMethodDescriptorType", "MethodDescriptorType",
                            "WrapperDescriptorType", "GetSetDescriptorType", "MemberDescriptorType"})
_FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "open", "__import__", "breakpoint", "input",
                       "globals", "locals", "vars", "help", "exit", "quit"}


class _Unrestorable:
    """Stands in for a module the session may no longer import: its name is reported lost."""


_UNRESTORABLE = _Unrestorable()


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
        if type(pid) is not tuple or len(pid) != 2 or pid[0] != "module" or type(pid[1]) is not str:
            raise pickle.UnpicklingError("unknown persistent id")
        try:
            return self._import_module(pid[1])
        except ImportError:  # ModuleNotAllowed included: that one name is lost, not all
            return _UNRESTORABLE

    def find_class(self, module: str, name: str):
        if module == "builtins":
            sandbox = self._ns["__builtins__"]
            if name in _FORBIDDEN_BUILTINS or name not in sandbox:
                raise pickle.UnpicklingError(f"checkpoint references forbidden builtins.{name}")
            return sandbox[name]
        if module in ("cloudpickle", "cloudpickle.cloudpickle"):
            mine = {"_make_function": self._make_function, "_function_setstate": self._function_setstate,
                    "_builtin_type": _builtin_type}.get(name)
            if mine is not None:
                return mine
            if name in _CLOUDPICKLE_OK:
                return getattr(cloudpickle.cloudpickle, name)
        elif (module, name) in _INFRA:
            return super().find_class(module, name)
        elif self._allowed(module) and not any(p.startswith("_") for p in name.split(".")):
            # Through the policy's filtered copy: only what `import module` gives the session.
            found = self._import_module(module)
            for part in name.split("."):
                found = getattr(found, part, _UNRESTORABLE)
            if found is not _UNRESTORABLE and not isinstance(found, types.ModuleType):
                return found
        raise pickle.UnpicklingError(f"checkpoint references {module}.{name}, which a session can't import")

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
        if closure_values is not None:  # cells, as cloudpickle 3 pickles them
            for cell, saved in zip(obj.__closure__ or (), closure_values):
                try:
                    cell.cell_contents = saved.cell_contents
                except (ValueError, AttributeError):  # an empty cell (or not a cell at all)
                    continue
        for key, value in slotstate.items():
            setattr(obj, key, value)


def _builtin_type(name):
    if name not in _BUILTIN_TYPES:
        raise pickle.UnpicklingError(f"checkpoint references types.{name}")
    return getattr(types, name)


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


def checkpoint_fd(size_bytes: int) -> int:
    """A session's checkpoint space (the server, at create): an in-memory file of exactly
    size_bytes, sealed so that no one, the worker included, can grow or shrink it. Writes past
    the end fail (EPERM), so a session can fill only its own budget, never a pool others
    share; pages are allocated only as written, so an idle session costs nothing."""
    fd = os.memfd_create("sandcell-checkpoint", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        os.ftruncate(fd, size_bytes)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)
    except BaseException:
        os.close(fd)
        raise
    return fd


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
        # The worker's RLIMIT_FSIZE, and the end of the (sealed) file: no byte may lie past either.
        self._max_bytes = min(max_bytes, os.fstat(fd).st_size or max_bytes)
        self._seq = 0
        self._committed: tuple[int, int] | None = None  # (offset, length)

    def _user_names(self, ns: dict) -> dict:
        return {k: v for k, v in ns.items() if k not in self._baseline}

    def forget(self, ns: dict) -> None:
        """Removes every user name from ns (after a load that failed part way)."""
        for name in [k for k in ns if k not in self._baseline]:
            del ns[name]

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
        if type(state) is not dict or not all(type(k) is str for k in state):
            raise ValueError("the checkpoint does not hold a namespace")
        lost.extend(k for k, v in state.items() if v is _UNRESTORABLE)
        ns.update({k: v for k, v in state.items() if v is not _UNRESTORABLE})
        return True, tuple(lost)
