import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_STATE_UNSPECIFIED: _ClassVar[SessionState]
    SESSION_STATE_IDLE: _ClassVar[SessionState]
    SESSION_STATE_BUSY: _ClassVar[SessionState]
    SESSION_STATE_CLOSED: _ClassVar[SessionState]

class OutputStream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTPUT_STREAM_UNSPECIFIED: _ClassVar[OutputStream]
    OUTPUT_STREAM_STDOUT: _ClassVar[OutputStream]
    OUTPUT_STREAM_STDERR: _ClassVar[OutputStream]

class ExecuteStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTE_STATUS_UNSPECIFIED: _ClassVar[ExecuteStatus]
    EXECUTE_STATUS_OK: _ClassVar[ExecuteStatus]
    EXECUTE_STATUS_ERROR: _ClassVar[ExecuteStatus]
    EXECUTE_STATUS_TIMEOUT: _ClassVar[ExecuteStatus]
    EXECUTE_STATUS_CPU_LIMIT: _ClassVar[ExecuteStatus]
    EXECUTE_STATUS_MEMORY_LIMIT: _ClassVar[ExecuteStatus]
    EXECUTE_STATUS_OUTPUT_LIMIT: _ClassVar[ExecuteStatus]
    EXECUTE_STATUS_DISK_LIMIT: _ClassVar[ExecuteStatus]
    EXECUTE_STATUS_KILLED: _ClassVar[ExecuteStatus]
    EXECUTE_STATUS_OPEN_FILES_LIMIT: _ClassVar[ExecuteStatus]

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    SESSION_NOT_FOUND: _ClassVar[ErrorReason]
    TOO_MANY_SESSIONS: _ClassVar[ErrorReason]
    TOO_MANY_EXECUTES: _ClassVar[ErrorReason]
    REQUEST_TOO_LARGE: _ClassVar[ErrorReason]
    INVALID_ARGUMENT: _ClassVar[ErrorReason]
    SESSION_BUSY: _ClassVar[ErrorReason]
    UNAUTHENTICATED: _ClassVar[ErrorReason]
    WORKER_START_FAILED: _ClassVar[ErrorReason]
    SHUTTING_DOWN: _ClassVar[ErrorReason]
    INTERNAL: _ClassVar[ErrorReason]
    SESSION_CLOSED: _ClassVar[ErrorReason]
    TENANT_QUOTA_MAX_SESSIONS: _ClassVar[ErrorReason]
    TENANT_QUOTA_MAX_CONCURRENT_EXECUTES: _ClassVar[ErrorReason]
    TENANT_QUOTA_CPU_SECONDS_PER_MINUTE: _ClassVar[ErrorReason]
    REPLICA_UNAVAILABLE: _ClassVar[ErrorReason]
SESSION_STATE_UNSPECIFIED: SessionState
SESSION_STATE_IDLE: SessionState
SESSION_STATE_BUSY: SessionState
SESSION_STATE_CLOSED: SessionState
OUTPUT_STREAM_UNSPECIFIED: OutputStream
OUTPUT_STREAM_STDOUT: OutputStream
OUTPUT_STREAM_STDERR: OutputStream
EXECUTE_STATUS_UNSPECIFIED: ExecuteStatus
EXECUTE_STATUS_OK: ExecuteStatus
EXECUTE_STATUS_ERROR: ExecuteStatus
EXECUTE_STATUS_TIMEOUT: ExecuteStatus
EXECUTE_STATUS_CPU_LIMIT: ExecuteStatus
EXECUTE_STATUS_MEMORY_LIMIT: ExecuteStatus
EXECUTE_STATUS_OUTPUT_LIMIT: ExecuteStatus
EXECUTE_STATUS_DISK_LIMIT: ExecuteStatus
EXECUTE_STATUS_KILLED: ExecuteStatus
EXECUTE_STATUS_OPEN_FILES_LIMIT: ExecuteStatus
ERROR_REASON_UNSPECIFIED: ErrorReason
SESSION_NOT_FOUND: ErrorReason
TOO_MANY_SESSIONS: ErrorReason
TOO_MANY_EXECUTES: ErrorReason
REQUEST_TOO_LARGE: ErrorReason
INVALID_ARGUMENT: ErrorReason
SESSION_BUSY: ErrorReason
UNAUTHENTICATED: ErrorReason
WORKER_START_FAILED: ErrorReason
SHUTTING_DOWN: ErrorReason
INTERNAL: ErrorReason
SESSION_CLOSED: ErrorReason
TENANT_QUOTA_MAX_SESSIONS: ErrorReason
TENANT_QUOTA_MAX_CONCURRENT_EXECUTES: ErrorReason
TENANT_QUOTA_CPU_SECONDS_PER_MINUTE: ErrorReason
REPLICA_UNAVAILABLE: ErrorReason

class Limits(_message.Message):
    __slots__ = ("wall_timeout_ms", "cpu_per_execute_ms", "session_cpu_ms", "memory_bytes", "output_bytes", "file_size_bytes", "workdir_bytes", "open_files", "idle_ttl_ms", "max_lifetime_ms")
    WALL_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    CPU_PER_EXECUTE_MS_FIELD_NUMBER: _ClassVar[int]
    SESSION_CPU_MS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    FILE_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    WORKDIR_BYTES_FIELD_NUMBER: _ClassVar[int]
    OPEN_FILES_FIELD_NUMBER: _ClassVar[int]
    IDLE_TTL_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_LIFETIME_MS_FIELD_NUMBER: _ClassVar[int]
    wall_timeout_ms: int
    cpu_per_execute_ms: int
    session_cpu_ms: int
    memory_bytes: int
    output_bytes: int
    file_size_bytes: int
    workdir_bytes: int
    open_files: int
    idle_ttl_ms: int
    max_lifetime_ms: int
    def __init__(self, wall_timeout_ms: _Optional[int] = ..., cpu_per_execute_ms: _Optional[int] = ..., session_cpu_ms: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., output_bytes: _Optional[int] = ..., file_size_bytes: _Optional[int] = ..., workdir_bytes: _Optional[int] = ..., open_files: _Optional[int] = ..., idle_ttl_ms: _Optional[int] = ..., max_lifetime_ms: _Optional[int] = ...) -> None: ...

class ToolSignature(_message.Message):
    __slots__ = ("name", "description", "parameters_json_schema", "output_type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    parameters_json_schema: str
    output_type: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters_json_schema: _Optional[str] = ..., output_type: _Optional[str] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("session_id", "state", "limits", "allowed_imports", "tools", "create_time", "last_active_time", "execute_count", "cpu_used_ms", "restore_count", "file_access")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_IMPORTS_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXECUTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CPU_USED_MS_FIELD_NUMBER: _ClassVar[int]
    RESTORE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FILE_ACCESS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    state: SessionState
    limits: Limits
    allowed_imports: _containers.RepeatedScalarFieldContainer[str]
    tools: _containers.RepeatedCompositeFieldContainer[ToolSignature]
    create_time: _timestamp_pb2.Timestamp
    last_active_time: _timestamp_pb2.Timestamp
    execute_count: int
    cpu_used_ms: int
    restore_count: int
    file_access: bool
    def __init__(self, session_id: _Optional[str] = ..., state: _Optional[_Union[SessionState, str]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ..., allowed_imports: _Optional[_Iterable[str]] = ..., tools: _Optional[_Iterable[_Union[ToolSignature, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_active_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., execute_count: _Optional[int] = ..., cpu_used_ms: _Optional[int] = ..., restore_count: _Optional[int] = ..., file_access: _Optional[bool] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("limits", "extra_imports", "tools", "disable_file_access")
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_IMPORTS_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    DISABLE_FILE_ACCESS_FIELD_NUMBER: _ClassVar[int]
    limits: Limits
    extra_imports: _containers.RepeatedScalarFieldContainer[str]
    tools: _containers.RepeatedCompositeFieldContainer[ToolSignature]
    disable_file_access: bool
    def __init__(self, limits: _Optional[_Union[Limits, _Mapping]] = ..., extra_imports: _Optional[_Iterable[str]] = ..., tools: _Optional[_Iterable[_Union[ToolSignature, _Mapping]]] = ..., disable_file_access: _Optional[bool] = ...) -> None: ...

class CreateSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class GetSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "next_page_token")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[Session]
    next_page_token: str
    def __init__(self, sessions: _Optional[_Iterable[_Union[Session, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CloseSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class CloseSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: Session
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ...) -> None: ...

class ExecuteStart(_message.Message):
    __slots__ = ("session_id", "code", "wall_timeout_ms", "cpu_per_execute_ms", "output_bytes")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    WALL_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    CPU_PER_EXECUTE_MS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    code: str
    wall_timeout_ms: int
    cpu_per_execute_ms: int
    output_bytes: int
    def __init__(self, session_id: _Optional[str] = ..., code: _Optional[str] = ..., wall_timeout_ms: _Optional[int] = ..., cpu_per_execute_ms: _Optional[int] = ..., output_bytes: _Optional[int] = ...) -> None: ...

class ToolResult(_message.Message):
    __slots__ = ("call_id", "result_json", "error")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    result_json: str
    error: ToolError
    def __init__(self, call_id: _Optional[str] = ..., result_json: _Optional[str] = ..., error: _Optional[_Union[ToolError, _Mapping]] = ...) -> None: ...

class ToolError(_message.Message):
    __slots__ = ("type", "message")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    type: str
    message: str
    def __init__(self, type: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ExecuteRequest(_message.Message):
    __slots__ = ("start", "tool_result")
    START_FIELD_NUMBER: _ClassVar[int]
    TOOL_RESULT_FIELD_NUMBER: _ClassVar[int]
    start: ExecuteStart
    tool_result: ToolResult
    def __init__(self, start: _Optional[_Union[ExecuteStart, _Mapping]] = ..., tool_result: _Optional[_Union[ToolResult, _Mapping]] = ...) -> None: ...

class OutputChunk(_message.Message):
    __slots__ = ("stream", "text")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    stream: OutputStream
    text: str
    def __init__(self, stream: _Optional[_Union[OutputStream, str]] = ..., text: _Optional[str] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("call_id", "name", "arguments_json")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    call_id: str
    name: str
    arguments_json: str
    def __init__(self, call_id: _Optional[str] = ..., name: _Optional[str] = ..., arguments_json: _Optional[str] = ...) -> None: ...

class Value(_message.Message):
    __slots__ = ("type_name", "json", "repr", "repr_truncated")
    TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    REPR_FIELD_NUMBER: _ClassVar[int]
    REPR_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    type_name: str
    json: str
    repr: str
    repr_truncated: bool
    def __init__(self, type_name: _Optional[str] = ..., json: _Optional[str] = ..., repr: _Optional[str] = ..., repr_truncated: _Optional[bool] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("type", "message", "line_number", "traceback")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LINE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TRACEBACK_FIELD_NUMBER: _ClassVar[int]
    type: str
    message: str
    line_number: int
    traceback: str
    def __init__(self, type: _Optional[str] = ..., message: _Optional[str] = ..., line_number: _Optional[int] = ..., traceback: _Optional[str] = ...) -> None: ...

class ExecuteResult(_message.Message):
    __slots__ = ("status", "value", "is_final_answer", "error", "message", "output_truncated", "restored", "lost_names", "wall_time_us", "cpu_time_us", "peak_memory_bytes", "checkpoint_error", "state_lost")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    IS_FINAL_ANSWER_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    RESTORED_FIELD_NUMBER: _ClassVar[int]
    LOST_NAMES_FIELD_NUMBER: _ClassVar[int]
    WALL_TIME_US_FIELD_NUMBER: _ClassVar[int]
    CPU_TIME_US_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ERROR_FIELD_NUMBER: _ClassVar[int]
    STATE_LOST_FIELD_NUMBER: _ClassVar[int]
    status: ExecuteStatus
    value: Value
    is_final_answer: bool
    error: Error
    message: str
    output_truncated: bool
    restored: bool
    lost_names: _containers.RepeatedScalarFieldContainer[str]
    wall_time_us: int
    cpu_time_us: int
    peak_memory_bytes: int
    checkpoint_error: str
    state_lost: bool
    def __init__(self, status: _Optional[_Union[ExecuteStatus, str]] = ..., value: _Optional[_Union[Value, _Mapping]] = ..., is_final_answer: _Optional[bool] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., message: _Optional[str] = ..., output_truncated: _Optional[bool] = ..., restored: _Optional[bool] = ..., lost_names: _Optional[_Iterable[str]] = ..., wall_time_us: _Optional[int] = ..., cpu_time_us: _Optional[int] = ..., peak_memory_bytes: _Optional[int] = ..., checkpoint_error: _Optional[str] = ..., state_lost: _Optional[bool] = ...) -> None: ...

class ExecuteResponse(_message.Message):
    __slots__ = ("output", "tool_call", "result")
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    output: OutputChunk
    tool_call: ToolCall
    result: ExecuteResult
    def __init__(self, output: _Optional[_Union[OutputChunk, _Mapping]] = ..., tool_call: _Optional[_Union[ToolCall, _Mapping]] = ..., result: _Optional[_Union[ExecuteResult, _Mapping]] = ...) -> None: ...

class ExecuteUnaryRequest(_message.Message):
    __slots__ = ("start",)
    START_FIELD_NUMBER: _ClassVar[int]
    start: ExecuteStart
    def __init__(self, start: _Optional[_Union[ExecuteStart, _Mapping]] = ...) -> None: ...

class ExecuteUnaryResponse(_message.Message):
    __slots__ = ("result", "stdout", "stderr")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    result: ExecuteResult
    stdout: str
    stderr: str
    def __init__(self, result: _Optional[_Union[ExecuteResult, _Mapping]] = ..., stdout: _Optional[str] = ..., stderr: _Optional[str] = ...) -> None: ...
