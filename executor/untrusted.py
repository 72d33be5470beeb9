"""Messages from a session worker are untrusted input. A session whose operator allowed `os`
or `ctypes` can write any bytes to its channel: forged output past its cap, a frame it never
finishes, a result with bogus fields. The server accepts only well-formed messages, counts
output itself, and never waits on a frame past the execute's deadline."""
from __future__ import annotations

from executor.ipc import MAX_FRAME_BYTES
from sandcell.executor.v1 import executor_pb2 as pb

__all__ = ["OutputBudget", "clean_message", "clean_tool_call", "clean_result", "clean_ready", "short_text",
           "MalformedMessage", "STATUSES"]

# Every status the contract defines, spelled as the worker sends it ("cpu_limit").
STATUSES = frozenset(v.name.removeprefix("EXECUTE_STATUS_").lower()
                     for v in pb.ExecuteStatus.DESCRIPTOR.values if v.number)
_STREAMS = ("stdout", "stderr")
_MAX_TEXT = 1 << 20


class MalformedMessage(ValueError):
    """The worker sent something no honest worker sends: treat it as a crashed worker."""


def _str(value, what: str, limit: int = _MAX_TEXT) -> str:
    # type() not isinstance(): JSON gives exact str. Lone surrogates ("\ud800" in the JSON)
    # can't be encoded as UTF-8, so protobuf would fail on them later as UNKNOWN: refuse here.
    if type(value) is not str or len(value) > limit:
        raise MalformedMessage(f"{what} is not a string of at most {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedMessage(f"{what} is not valid Unicode (a lone surrogate)") from None
    return value


def _int(value, what: str, end: int = 1 << 63) -> int:
    if type(value) is not int or not 0 <= value < end:  # the proto field's range (uint32, uint64)
        raise MalformedMessage(f"{what} is not an integer in [0, {end})")
    return value


def short_text(value, limit: int = 300) -> str:
    """Any value a worker sent, as a short printable string for a log line or a message: cut
    to `limit` characters; control characters, surrogates and other non-printables escaped."""
    text = value if type(value) is str else repr(value)[:limit + 1]
    cut, text = len(text) > limit, text[:limit]
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text + ("..." if cut else "")


class OutputBudget:
    """The execute's output cap, enforced again on the server side of the channel."""

    def __init__(self, limit_bytes: int):
        self.left = limit_bytes
        self.truncated = False

    def take(self, msg: dict) -> dict | None:
        stream = msg.get("stream")
        if stream not in _STREAMS:
            raise MalformedMessage(f"unknown output stream {stream!r}")
        text = _str(msg.get("text"), "output text", MAX_FRAME_BYTES)
        data = text.encode("utf-8", "replace")
        if len(data) > self.left:
            self.truncated = True
            data = data[: self.left]
            text = data.decode("utf-8", "ignore")
        self.left -= len(data)
        return {"op": "out", "stream": stream, "text": text} if text else None


def clean_tool_call(msg: dict, declared: set[str]) -> dict:
    name = _str(msg.get("name"), "tool name", 256)
    if name not in declared:
        raise MalformedMessage(f"tool call to undeclared tool {name!r}")
    call_id = _str(msg.get("call_id"), "tool call id", 64)  # the worker's ids are strings; proto says string
    return {"op": "tool_call", "call_id": call_id, "name": name,
            "arguments_json": _str(msg.get("arguments_json", ""), "tool arguments")}


# Field -> check, for the two nested records of a result.
_VALUE = {"type_name": lambda v: _str(v, "value type", 1024), "json": lambda v: _str(v, "value json"),
          "repr": lambda v: _str(v, "value repr"), "repr_truncated": lambda v: v is True}
_ERROR = {"type": lambda v: _str(v, "error type", 1024), "message": lambda v: _str(v, "error message"),
          "line_number": lambda v: _int(v, "error line", 1 << 32), "traceback": lambda v: _str(v, "traceback")}
_DEFAULTS = {"line_number": 0, "repr_truncated": False}


def _record(raw, what: str, fields: dict) -> dict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise MalformedMessage(f"{what} is not an object")
    return {name: check(raw.get(name, _DEFAULTS.get(name, ""))) for name, check in fields.items()}


MAX_NAMES = 1000  # lost names a ready may list (the worker lists no more)


def _names(raw, what: str) -> list[str]:
    if type(raw) is not list or len(raw) > MAX_NAMES:
        raise MalformedMessage(f"{what} is not a list of at most {MAX_NAMES} names")
    return [_str(n, what, 256) for n in raw]


def clean_ready(msg: dict) -> dict:
    """A worker's "ready". Its pid is only compared with what the zygote reported, never used."""
    if msg.get("op") != "ready":
        raise MalformedMessage(f"expected ready, got op {short_text(msg.get('op'), 40)}")
    pid = msg.get("pid")
    if type(pid) is not int:
        raise MalformedMessage("ready pid is not an integer")
    return {"op": "ready", "pid": pid, "restored": msg.get("restored") is True,
            "lost_names": _names(msg.get("lost_names", []), "lost names"),
            "restore_error": _str(msg.get("restore_error", ""), "restore error", 4096)}


def clean_result(msg: dict, budget: OutputBudget) -> dict:
    status = msg.get("status")
    if status not in STATUSES:
        raise MalformedMessage(f"unknown result status {status!r}")
    out = {"op": "result", "status": status, "is_final_answer": msg.get("is_final_answer") is True,
           "output_truncated": msg.get("output_truncated") is True or budget.truncated,
           "message": _str(msg.get("message", ""), "result message"),
           "value": None, "error": None}
    for key in ("wall_time_us", "cpu_time_us", "peak_memory_bytes"):
        out[key] = _int(msg.get(key, 0), key)
    out["checkpoint_error"] = _str(msg.get("checkpoint_error", ""), "checkpoint error", 4096)
    out["value"] = _record(msg.get("value"), "result value", _VALUE)
    out["error"] = _record(msg.get("error"), "result error", _ERROR)
    return out


def clean_message(msg: dict, budget: OutputBudget, tools: set[str]) -> dict | None:
    """One message a worker sent during an execute, checked: its output (None once past the
    cap), a tool call or its result. Anything else is MalformedMessage."""
    op = msg.get("op")
    if op == "out":
        return budget.take(msg)
    if op == "tool_call":
        return clean_tool_call(msg, tools)
    if op == "result":
        return clean_result(msg, budget)
    raise MalformedMessage(f"unexpected message op {short_text(op, 40)}")
