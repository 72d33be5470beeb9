"""Plain frozen values the client returns, and their conversion from/to protobuf."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from sandcell.executor.v1 import executor_pb2 as pb

__all__ = ["Limits", "ToolSpec", "Value", "CodeError", "ExecuteResult", "SessionInfo", "STATUS_NAMES"]

# Short status names ("ok", "timeout", ...) keyed by the proto enum.
STATUS_NAMES = {
    v.number: v.name.removeprefix("EXECUTE_STATUS_").lower()
    for v in pb.ExecuteStatus.DESCRIPTOR.values
}


@dataclass(frozen=True)
class Limits:
    """Resource limits; None means the server's default. Requests can only lower them."""

    wall_timeout_ms: int | None = None
    cpu_per_execute_ms: int | None = None
    session_cpu_ms: int | None = None
    memory_bytes: int | None = None
    output_bytes: int | None = None
    file_size_bytes: int | None = None
    workdir_bytes: int | None = None
    open_files: int | None = None
    idle_ttl_ms: int | None = None
    max_lifetime_ms: int | None = None

    def to_proto(self) -> pb.Limits:
        return pb.Limits(**{f.name: getattr(self, f.name) or 0 for f in fields(self)})

    @classmethod
    def from_proto(cls, msg: pb.Limits) -> "Limits":
        return cls(**{f.name: getattr(msg, f.name) or None for f in fields(cls)})


@dataclass(frozen=True)
class ToolSpec:
    """A tool the sandboxed code may call; it runs on the client side."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    output_type: str = "any"

    def to_proto(self) -> pb.ToolSignature:
        return pb.ToolSignature(name=self.name, description=self.description,
                                parameters_json_schema=json.dumps(self.parameters),
                                output_type=self.output_type)

    @classmethod
    def from_proto(cls, msg: pb.ToolSignature) -> "ToolSpec":
        params = json.loads(msg.parameters_json_schema) if msg.parameters_json_schema else {}
        return cls(msg.name, msg.description, params, msg.output_type)


_MISSING = object()


@dataclass(frozen=True)
class Value:
    """A value from the sandbox: its type name, JSON form when it has one, and a bounded repr."""

    type_name: str
    json: str | None
    repr: str
    repr_truncated: bool = False

    def python(self, default: Any = None) -> Any:
        """The value decoded from JSON, or `default` when it was not JSON-representable."""
        return json.loads(self.json) if self.json is not None else default

    @classmethod
    def from_proto(cls, msg: pb.Value) -> "Value | None":
        if not msg.type_name:
            return None
        return cls(msg.type_name, msg.json or None, msg.repr, msg.repr_truncated)


@dataclass(frozen=True)
class CodeError:
    """An exception raised by the user's code (not an RPC error)."""

    type: str
    message: str
    line_number: int | None
    traceback: str

    @classmethod
    def from_proto(cls, msg: pb.Error) -> "CodeError | None":
        if not msg.type:
            return None
        return cls(msg.type, msg.message, msg.line_number or None, msg.traceback)


@dataclass(frozen=True)
class ExecuteResult:
    """How one execute ended: status, value, printed output and error."""

    status: str
    value: Value | None = None
    is_final_answer: bool = False
    error: CodeError | None = None
    message: str = ""
    stdout: str = ""
    stderr: str = ""
    output_truncated: bool = False
    restored: bool = False
    lost_names: tuple[str, ...] = ()
    wall_time_ms: float = 0.0
    cpu_time_ms: float = 0.0
    peak_memory_bytes: int = 0
    checkpoint_error: str = ""  # non-empty: this execute's state is not protected against a crash
    state_lost: bool = False    # the restore lost every name (the checkpoint could not be loaded)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def from_proto(cls, msg: pb.ExecuteResult, stdout: str = "", stderr: str = "") -> "ExecuteResult":
        return cls(
            status=STATUS_NAMES.get(msg.status, "unspecified"),
            value=Value.from_proto(msg.value),
            is_final_answer=msg.is_final_answer,
            error=CodeError.from_proto(msg.error),
            message=msg.message,
            stdout=stdout,
            stderr=stderr,
            output_truncated=msg.output_truncated,
            restored=msg.restored,
            lost_names=tuple(msg.lost_names),
            wall_time_ms=msg.wall_time_us / 1000.0,
            cpu_time_ms=msg.cpu_time_us / 1000.0,
            peak_memory_bytes=msg.peak_memory_bytes,
            checkpoint_error=msg.checkpoint_error,
            state_lost=msg.state_lost,
        )


def _time(ts) -> datetime | None:
    return ts.ToDatetime(tzinfo=timezone.utc) if ts.seconds or ts.nanos else None


@dataclass(frozen=True)
class SessionInfo:
    """A session as the server reports it."""

    session_id: str
    state: str
    limits: Limits
    allowed_imports: tuple[str, ...]
    tools: tuple[ToolSpec, ...]
    create_time: datetime | None
    last_active_time: datetime | None
    execute_count: int
    cpu_used_ms: int
    restore_count: int
    file_access: bool

    @classmethod
    def from_proto(cls, msg: pb.Session) -> "SessionInfo":
        return cls(
            session_id=msg.session_id,
            state=pb.SessionState.Name(msg.state).removeprefix("SESSION_STATE_").lower(),
            limits=Limits.from_proto(msg.limits),
            allowed_imports=tuple(msg.allowed_imports),
            tools=tuple(ToolSpec.from_proto(t) for t in msg.tools),
            create_time=_time(msg.create_time),
            last_active_time=_time(msg.last_active_time),
            execute_count=msg.execute_count,
            cpu_used_ms=msg.cpu_used_ms,
            restore_count=msg.restore_count,
            file_access=msg.file_access,
        )
