//! Plain values the client returns, and their conversion from and to the protobuf messages.
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::pb;

/// Resource limits; `None` means the server's default. A request can only lower a limit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub wall_timeout_ms: Option<u64>,
    pub cpu_per_execute_ms: Option<u64>,
    pub session_cpu_ms: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub output_bytes: Option<u64>,
    pub file_size_bytes: Option<u64>,
    pub workdir_bytes: Option<u64>,
    pub open_files: Option<u32>,
    pub idle_ttl_ms: Option<u64>,
    pub max_lifetime_ms: Option<u64>,
}

fn opt<T: Default + PartialEq>(v: T) -> Option<T> {
    (v != T::default()).then_some(v)
}

impl Limits {
    pub(crate) fn to_proto(&self) -> pb::Limits {
        pb::Limits {
            wall_timeout_ms: self.wall_timeout_ms.unwrap_or(0),
            cpu_per_execute_ms: self.cpu_per_execute_ms.unwrap_or(0),
            session_cpu_ms: self.session_cpu_ms.unwrap_or(0),
            memory_bytes: self.memory_bytes.unwrap_or(0),
            output_bytes: self.output_bytes.unwrap_or(0),
            file_size_bytes: self.file_size_bytes.unwrap_or(0),
            workdir_bytes: self.workdir_bytes.unwrap_or(0),
            open_files: self.open_files.unwrap_or(0),
            idle_ttl_ms: self.idle_ttl_ms.unwrap_or(0),
            max_lifetime_ms: self.max_lifetime_ms.unwrap_or(0),
        }
    }

    pub(crate) fn from_proto(m: &pb::Limits) -> Self {
        Limits {
            wall_timeout_ms: opt(m.wall_timeout_ms),
            cpu_per_execute_ms: opt(m.cpu_per_execute_ms),
            session_cpu_ms: opt(m.session_cpu_ms),
            memory_bytes: opt(m.memory_bytes),
            output_bytes: opt(m.output_bytes),
            file_size_bytes: opt(m.file_size_bytes),
            workdir_bytes: opt(m.workdir_bytes),
            open_files: opt(m.open_files),
            idle_ttl_ms: opt(m.idle_ttl_ms),
            max_lifetime_ms: opt(m.max_lifetime_ms),
        }
    }
}

/// A tool the sandboxed code may call; it runs in this process, answered by a closure.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolSpec {
    /// The Python name the code calls; must be an identifier.
    pub name: String,
    /// What the tool does, shown to the model.
    pub description: String,
    /// JSON Schema (an object schema) of the keyword arguments.
    pub parameters: serde_json::Value,
    /// Type of the returned value, e.g. "string", "object", "any".
    pub output_type: String,
}

impl ToolSpec {
    /// A tool taking no arguments and returning anything; refine with the fields.
    pub fn new(name: impl Into<String>) -> Self {
        ToolSpec {
            name: name.into(),
            description: String::new(),
            parameters: serde_json::json!({"type": "object", "properties": {}}),
            output_type: "any".into(),
        }
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Sets the arguments' JSON Schema.
    pub fn parameters(mut self, schema: serde_json::Value) -> Self {
        self.parameters = schema;
        self
    }

    /// Sets the output type.
    pub fn output_type(mut self, kind: impl Into<String>) -> Self {
        self.output_type = kind.into();
        self
    }

    pub(crate) fn to_proto(&self) -> pb::ToolSignature {
        pb::ToolSignature {
            name: self.name.clone(),
            description: self.description.clone(),
            parameters_json_schema: self.parameters.to_string(),
            output_type: self.output_type.clone(),
        }
    }

    pub(crate) fn from_proto(m: &pb::ToolSignature) -> Self {
        ToolSpec {
            name: m.name.clone(),
            description: m.description.clone(),
            parameters: serde_json::from_str(&m.parameters_json_schema).unwrap_or(serde_json::Value::Null),
            output_type: m.output_type.clone(),
        }
    }
}

/// A value from the sandbox: its Python type name, its JSON form when it has one, and a
/// bounded repr (always present).
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// The Python type name, e.g. "int", "tuple", "DataFrame".
    pub type_name: String,
    /// The value decoded from its JSON form; `None` when it has none (a set, an object, NaN...).
    /// Tuples arrive as arrays: `type_name` says which it was.
    pub json: Option<serde_json::Value>,
    /// `repr()` of the value, cut at a bounded length.
    pub repr: String,
    /// Whether `repr` was cut.
    pub repr_truncated: bool,
}

impl Value {
    fn from_proto(m: &pb::Value) -> Option<Self> {
        if m.type_name.is_empty() {
            return None;
        }
        Some(Value {
            type_name: m.type_name.clone(),
            // The server only sends RFC 8259 JSON; a field that does not parse is treated as absent.
            json: if m.json.is_empty() { None } else { serde_json::from_str(&m.json).ok() },
            repr: m.repr.clone(),
            repr_truncated: m.repr_truncated,
        })
    }
}

/// An exception raised by the user's code (not an RPC error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeError {
    /// The exception type name, e.g. "ZeroDivisionError".
    pub type_name: String,
    /// `str()` of the exception.
    pub message: String,
    /// Line in the submitted code where it was raised, when known.
    pub line_number: Option<u32>,
    /// The traceback, listing the user's own frames only.
    pub traceback: String,
}

/// How an execute ended. Each limit has its own status so a caller can react.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExecuteStatus {
    Ok,
    Error,
    Timeout,
    CpuLimit,
    MemoryLimit,
    OutputLimit,
    DiskLimit,
    Killed,
    OpenFilesLimit,
    /// A status this client does not know (a newer server), with its number.
    Unknown(i32),
}

impl ExecuteStatus {
    fn from_proto(n: i32) -> Self {
        use pb::ExecuteStatus as S;
        match S::try_from(n) {
            Ok(S::Ok) => Self::Ok,
            Ok(S::Error) => Self::Error,
            Ok(S::Timeout) => Self::Timeout,
            Ok(S::CpuLimit) => Self::CpuLimit,
            Ok(S::MemoryLimit) => Self::MemoryLimit,
            Ok(S::OutputLimit) => Self::OutputLimit,
            Ok(S::DiskLimit) => Self::DiskLimit,
            Ok(S::Killed) => Self::Killed,
            Ok(S::OpenFilesLimit) => Self::OpenFilesLimit,
            Ok(S::Unspecified) | Err(_) => Self::Unknown(n),
        }
    }
}

/// How one execute ended: status, value, printed output and the code's exception.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecuteResult {
    pub status: ExecuteStatus,
    /// The trailing expression's value (or final_answer's argument); `None` after a statement.
    pub value: Option<Value>,
    pub is_final_answer: bool,
    pub error: Option<CodeError>,
    /// For any status but Ok: what happened and what to do next, written for a model.
    pub message: String,
    pub stdout: String,
    pub stderr: String,
    pub output_truncated: bool,
    /// Whether the worker was killed and the session restored to its last checkpoint.
    pub restored: bool,
    /// Names that could not be restored, when `restored`.
    pub lost_names: Vec<String>,
    pub wall_time: Duration,
    pub cpu_time: Duration,
    pub peak_memory_bytes: u64,
}

impl ExecuteResult {
    /// Whether the code ran to completion.
    pub fn ok(&self) -> bool {
        self.status == ExecuteStatus::Ok
    }

    pub(crate) fn from_proto(m: &pb::ExecuteResult, stdout: String, stderr: String) -> Self {
        ExecuteResult {
            status: ExecuteStatus::from_proto(m.status),
            value: m.value.as_ref().and_then(Value::from_proto),
            is_final_answer: m.is_final_answer,
            error: m.error.as_ref().filter(|e| !e.r#type.is_empty()).map(|e| CodeError {
                type_name: e.r#type.clone(),
                message: e.message.clone(),
                line_number: opt(e.line_number),
                traceback: e.traceback.clone(),
            }),
            message: m.message.clone(),
            stdout,
            stderr,
            output_truncated: m.output_truncated,
            restored: m.restored,
            lost_names: m.lost_names.clone(),
            wall_time: Duration::from_micros(m.wall_time_us),
            cpu_time: Duration::from_micros(m.cpu_time_us),
            peak_memory_bytes: m.peak_memory_bytes,
        }
    }
}

/// Where a session is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionState {
    Idle,
    Busy,
    Closed,
    Unknown(i32),
}

/// A session as the server reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionInfo {
    pub session_id: String,
    pub state: SessionState,
    /// The effective limits.
    pub limits: Limits,
    pub allowed_imports: Vec<String>,
    pub tools: Vec<ToolSpec>,
    pub create_time: Option<SystemTime>,
    pub last_active_time: Option<SystemTime>,
    pub execute_count: u64,
    pub cpu_used_ms: u64,
    pub restore_count: u32,
    pub file_access: bool,
}

fn time(ts: &Option<prost_types::Timestamp>) -> Option<SystemTime> {
    let ts = ts.as_ref()?;
    if ts.seconds == 0 && ts.nanos == 0 {
        return None;
    }
    SystemTime::try_from(*ts).ok()
}

impl SessionInfo {
    pub(crate) fn from_proto(m: &pb::Session) -> Self {
        use pb::SessionState as S;
        SessionInfo {
            session_id: m.session_id.clone(),
            state: match S::try_from(m.state) {
                Ok(S::Idle) => SessionState::Idle,
                Ok(S::Busy) => SessionState::Busy,
                Ok(S::Closed) => SessionState::Closed,
                _ => SessionState::Unknown(m.state),
            },
            limits: m.limits.as_ref().map(Limits::from_proto).unwrap_or_default(),
            allowed_imports: m.allowed_imports.clone(),
            tools: m.tools.iter().map(ToolSpec::from_proto).collect(),
            create_time: time(&m.create_time),
            last_active_time: time(&m.last_active_time),
            execute_count: m.execute_count,
            cpu_used_ms: m.cpu_used_ms,
            restore_count: m.restore_count,
            file_access: m.file_access,
        }
    }
}

/// Which stream printed output came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// Options for one execute; all default to the session's settings.
#[derive(Clone, Debug, Default)]
pub struct ExecuteOptions {
    /// Lowers the session's wall timeout for this execute.
    pub wall_timeout_ms: Option<u64>,
    /// Lowers the session's per-execute CPU limit for this execute.
    pub cpu_per_execute_ms: Option<u64>,
    /// Lowers the session's output limit for this execute.
    pub output_bytes: Option<u64>,
    /// gRPC deadline for the whole call; `None`: no deadline (the server's limits apply).
    pub deadline: Option<Duration>,
}

impl ExecuteOptions {
    pub(crate) fn start(&self, session_id: &str, code: &str) -> pb::ExecuteStart {
        pb::ExecuteStart {
            session_id: session_id.to_owned(),
            code: code.to_owned(),
            wall_timeout_ms: self.wall_timeout_ms.unwrap_or(0),
            cpu_per_execute_ms: self.cpu_per_execute_ms.unwrap_or(0),
            output_bytes: self.output_bytes.unwrap_or(0),
        }
    }
}

pub(crate) type Metadata = HashMap<String, String>;
