"""Tools for hostile-worker tests: hand-built checkpoints and channel frames, and the checks
that the service came through intact (used by tests/test_hostile_worker*.py)."""
from __future__ import annotations

import json
import struct
import time
import zlib
from contextlib import contextmanager

import psutil

__all__ = ["frame", "calls_pickle", "checkpoint_file", "write_checkpoint_code", "zygote_state",
           "checkpoint_digest", "json_bytes", "call_op", "module_op", "namespace_pickle", "CHAN_FD", "CKPT_FD", "MALFORMED", "RESULT",
           "service_kept"]

# A worker's channel and checkpoint descriptors (the jail keeps exactly these two, in this order).
CHAN_FD, CKPT_FD = 3, 4


def json_bytes(message: dict) -> bytes:
    """JSON as a hostile worker may write it: lone surrogates escaped, not refused."""
    return json.dumps(message).encode()


def frame(message) -> bytes:
    """One channel frame: a 4-byte big-endian length, then the body (a dict is JSON-encoded)."""
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return struct.pack("!I", len(body)) + body


def _arg(value) -> bytes:
    if isinstance(value, int):
        return b"J" + struct.pack("<i", value)                       # BININT
    if isinstance(value, bytes):
        return b"B" + struct.pack("<I", len(value)) + value          # BINBYTES
    raise TypeError(value)


def call_op(module: str, name: str, args: tuple = ()) -> bytes:
    """Pickle opcodes that call module.name(*args) when loaded."""
    return (b"c" + module.encode() + b"\n" + name.encode() + b"\n"       # GLOBAL
            + b"(" + b"".join(_arg(a) for a in args) + b"tR")           # MARK args TUPLE REDUCE


def module_op(name: str) -> bytes:
    """Pickle opcodes for a module as executor/snapshot.py stores one: persistent id ("module", name)."""
    return b"".join(b"X" + struct.pack("<I", len(t)) + t for t in (b"module", name.encode())) + b"\x86Q"


def namespace_pickle(entries: dict[str, bytes]) -> bytes:
    """A pickle (protocol 3 opcodes, by hand) of a dict {key: value}; values are opcodes (the
    helpers above, or _arg()'s ints and bytes), loaded in order."""
    out = b"\x80\x03}("                                              # PROTO 3, EMPTY_DICT, MARK
    for key, value in entries.items():
        k = key.encode()
        out += b"X" + struct.pack("<I", len(k)) + k + (value if isinstance(value, bytes) else _arg(value))
    return out + b"u."                                               # SETITEMS STOP


def calls_pickle(calls: list[tuple[str, str, str, tuple]]) -> bytes:
    """A namespace {key: module.name(*args)}: loading it calls each function in order, as a
    hostile checkpoint would."""
    return namespace_pickle({key: call_op(module, name, args) for key, module, name, args in calls})


def checkpoint_file(pickled: bytes, lost: list[str] = ()) -> tuple[bytes, bytes]:
    """(commit record for offset 0, payload for offset 4096) in executor/snapshot.py's format."""
    header = json.dumps(list(lost)).encode()
    payload = struct.pack("!I", len(header)) + header + pickled
    record = struct.pack("!8sQQQI", b"sandckp1", 99, 4096, len(payload), zlib.crc32(payload))
    return record, payload


def write_checkpoint_code(pickled: bytes, then: str = "os.abort()") -> str:
    """Session code (with `os` allowed) that replaces its own checkpoint, then dies unsaved."""
    record, payload = checkpoint_file(pickled)
    return (f"import os\nos.pwrite({CKPT_FD}, {payload!r}, 4096)\nos.pwrite({CKPT_FD}, {record!r}, 0)\n{then}")


def zygote_state(server_pid: int) -> tuple[int, int]:
    """(zygote pid, number of spares) of a local server: spares are the zygote's children
    still in its working directory (a session's worker has entered its work dir)."""
    zygote = next(p for p in psutil.Process(server_pid).children() if "executor.zygote" in " ".join(p.cmdline()))
    spares = 0
    for child in zygote.children():
        try:
            spares += child.cwd() == zygote.cwd() and child.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            pass
    return zygote.pid, spares


@contextmanager
def service_kept(proc, client, bystander, probe: str, expected):
    """Around a hostile test: afterwards the service serves, another session (`bystander`,
    `probe` evaluating to `expected`) kept its state and was not restored, and a new session
    works. With a local server (`proc`; None for the container) also: the zygote is the same
    process and holds a spare, and the bystander's checkpoint is unchanged byte for byte."""
    before = (zygote_state(proc.pid)[0], checkpoint_digest(proc, bystander.id)) if proc else None
    yield
    assert client.health(), "executor is not SERVING after a hostile test"
    if proc:
        deadline = time.monotonic() + 10
        while (state := zygote_state(proc.pid))[1] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert state[0] == before[0], "the zygote was replaced"
        assert state[1] >= 1, "the zygote holds no spare"
        assert checkpoint_digest(proc, bystander.id) == before[1], "another session's checkpoint changed"
    r = bystander.execute(probe)
    assert r.ok and r.value.python() == expected and not r.restored, f"another session was disturbed: {r}"
    with client.create_session() as s:
        assert s.execute("1 + 1").value.python() == 2


def checkpoint_digest(proc, session_id: str) -> str:
    """A digest of a local session's checkpoint, read through its worker's descriptor."""
    import hashlib
    for worker in proc.session_workers():
        try:
            if worker.cwd().endswith(session_id):
                with open(f"/proc/{worker.pid}/fd/{CKPT_FD}", "rb") as f:
                    return hashlib.sha256(f.read()).hexdigest()
        except psutil.Error:
            continue
    raise AssertionError(f"no worker for session {session_id}")


# A well-formed result, to forge from.
RESULT = {"op": "result", "status": "ok", "value": None, "is_final_answer": False, "error": None,
          "output_truncated": False, "message": "", "wall_time_us": 1, "cpu_time_us": 1, "peak_memory_bytes": 1}
# Frames no honest worker sends during an execute: each once reached callers as UNKNOWN or was let through.
MALFORMED = {
    "a ready during an execute": frame({"op": "ready", "pid": 1, "restored": True, "lost_names": [], "restore_error": ""}),
    "unknown result status": frame(json_bytes({**RESULT, "status": "bogus"})),
    "integer tool-call id": frame({"op": "tool_call", "call_id": 7, "name": "lookup", "arguments_json": "{}"}),
    "lone surrogate in output": frame(b'{"op": "out", "stream": "stdout", "text": "a\\ud800b"}'),
    "lone surrogate in the result message": frame(json_bytes({**RESULT, "status": "error", "message": "\ud800"})),
    "lone surrogate in an error": frame(json_bytes({**RESULT, "status": "error", "error": {
        "type": "X", "message": "m\udfff", "line_number": 1, "traceback": ""}})),
    "line number past uint32": frame(json_bytes({**RESULT, "status": "error", "error": {
        "type": "X", "message": "m", "line_number": 1 << 40, "traceback": ""}})),
    "string where an integer goes": frame(json_bytes({**RESULT, "wall_time_us": "soon"})),
    "list where a record goes": frame(json_bytes({**RESULT, "value": [1, 2]})),
    "unknown op": frame({"op": "checkpoint_failed", "error": "x"}),
    "not an object": frame(b"[1, 2, 3]"),
    "not JSON": frame(b"\xff\xfe{"),
    "nested past the parser's stack": frame(b"[" * 200_000 + b"]" * 200_000),
    "huge frame header": b"\xff\xff\xff\xff" + b"{}",
}
