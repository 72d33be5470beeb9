//! The typed error every call returns, decoded from the gRPC status and the
//! `google.rpc.ErrorInfo` the executor attaches to it (domain "sandcell.dev").
use std::fmt;
use std::time::Duration;

use tonic::Code;
use tonic_types::StatusExt;

use crate::pb::ErrorReason;
use crate::types::Metadata;

/// What the server said: status code, message, and ErrorInfo's reason and metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorDetails {
    pub code: Code,
    /// A message a person or model can act on.
    pub message: String,
    /// ErrorInfo.reason, e.g. "SESSION_BUSY"; empty when the status carried none.
    pub reason: String,
    /// ErrorInfo.metadata, e.g. {"field": "limits.memory_bytes"} for an invalid argument.
    pub metadata: Metadata,
    /// google.rpc.RetryInfo: when the server suggests retrying (quotas, a full server).
    pub retry_after: Option<Duration>,
}

impl ErrorDetails {
    /// The reason as the contract's enum; `None` for a reason this client does not know.
    pub fn error_reason(&self) -> Option<ErrorReason> {
        ErrorReason::from_str_name(&self.reason)
    }
}

/// Which server or size limit a RESOURCE_EXHAUSTED status hit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exhausted {
    /// The server holds its maximum of open sessions: close one or retry later.
    TooManySessions,
    /// The server runs its maximum of executes at once: retry shortly.
    TooManyExecutes,
    /// The code or a message is larger than the server accepts.
    RequestTooLarge,
    /// The caller's tenant hit one of its quotas, named as in ErrorInfo.metadata["quota"]
    /// ("max_sessions", "max_concurrent_executes", "cpu_seconds_per_minute"); others are unaffected.
    TenantQuota(String),
    /// Another reason (a newer server), as sent.
    Other(String),
}

/// Every failure of a call. Errors in the user's code are NOT here: they come back as an
/// [`ExecuteResult`](crate::ExecuteResult) with status `Error`. The details are boxed so a
/// `Result<_, Error>` stays small.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// NOT_FOUND: the session was closed, expired, or never existed.
    SessionNotFound(Box<ErrorDetails>),
    /// FAILED_PRECONDITION: the session is running another execute.
    SessionBusy(Box<ErrorDetails>),
    /// ABORTED: the session was closed while this call ran on it.
    SessionClosed(Box<ErrorDetails>),
    /// RESOURCE_EXHAUSTED: a server or size limit, with which one.
    ResourceExhausted(Exhausted, Box<ErrorDetails>),
    /// INVALID_ARGUMENT: a malformed request; `metadata["field"]` names the field when known.
    InvalidArgument(Box<ErrorDetails>),
    /// UNAUTHENTICATED: a missing or wrong bearer token.
    Unauthenticated(Box<ErrorDetails>),
    /// UNAVAILABLE: the server is unreachable, shutting down, or could not start a worker.
    Unavailable(Box<ErrorDetails>),
    /// DEADLINE_EXCEEDED: the call's deadline passed before the server answered.
    DeadlineExceeded(Box<ErrorDetails>),
    /// Any other status (a newer server, or a bug on either side).
    Other(Box<ErrorDetails>),
    /// The connection could not be set up (bad address, TLS configuration).
    Connect(String),
    /// The server broke the Execute protocol (e.g. the stream ended without a result).
    Protocol(String),
}

impl Error {
    /// The server's details, for every variant that came from a status.
    pub fn details(&self) -> Option<&ErrorDetails> {
        match self {
            Error::SessionNotFound(d)
            | Error::SessionBusy(d)
            | Error::SessionClosed(d)
            | Error::ResourceExhausted(_, d)
            | Error::InvalidArgument(d)
            | Error::Unauthenticated(d)
            | Error::Unavailable(d)
            | Error::DeadlineExceeded(d)
            | Error::Other(d) => Some(d),
            Error::Connect(_) | Error::Protocol(_) => None,
        }
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        // Malformed details must not hide the status itself: they just leave reason empty.
        let (reason, metadata) = match status.get_details_error_info() {
            Some(info) => (info.reason, info.metadata.into_iter().collect()),
            None => (String::new(), Metadata::new()),
        };
        let retry_after = status
            .get_details_retry_info()
            .and_then(|r| r.retry_delay)
            .filter(|d| !d.is_zero());
        let mut d = ErrorDetails { code: status.code(), message: status.message().to_owned(), reason, metadata, retry_after };
        // tonic reports a connection that broke under the call (e.g. the server refused our
        // client certificate after the handshake) as UNKNOWN "transport error" or CANCELLED,
        // with the cause in the source chain: to the caller, the server is unavailable.
        if matches!(d.code, Code::Unknown | Code::Cancelled) && std::error::Error::source(&status).is_some() {
            d.code = Code::Unavailable;
            d.message = chain(&status);
        }
        let code = d.code;
        let d = Box::new(d);
        match code {
            Code::NotFound => Error::SessionNotFound(d),
            Code::FailedPrecondition => Error::SessionBusy(d),
            Code::Aborted => Error::SessionClosed(d),
            Code::InvalidArgument => Error::InvalidArgument(d),
            Code::Unauthenticated => Error::Unauthenticated(d),
            Code::Unavailable => Error::Unavailable(d),
            Code::DeadlineExceeded => Error::DeadlineExceeded(d),
            Code::ResourceExhausted => {
                let which = match d.error_reason() {
                    Some(ErrorReason::TooManySessions) => Exhausted::TooManySessions,
                    Some(ErrorReason::TooManyExecutes) => Exhausted::TooManyExecutes,
                    Some(ErrorReason::RequestTooLarge) => Exhausted::RequestTooLarge,
                    Some(
                        ErrorReason::TenantQuotaMaxSessions
                        | ErrorReason::TenantQuotaMaxConcurrentExecutes
                        | ErrorReason::TenantQuotaCpuSecondsPerMinute,
                    ) => Exhausted::TenantQuota(d.metadata.get("quota").cloned().unwrap_or_default()),
                    _ => Exhausted::Other(d.reason.clone()),
                };
                Error::ResourceExhausted(which, d)
            }
            _ => Error::Other(d),
        }
    }
}

/// The error's text followed by its causes', which is where transport errors say what happened.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

impl From<tonic::transport::Error> for Error {
    fn from(err: tonic::transport::Error) -> Self {
        Error::Connect(chain(&err))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.details()) {
            (_, Some(d)) if d.reason.is_empty() => write!(f, "{:?}: {}", d.code, d.message),
            (_, Some(d)) => write!(f, "{:?} ({}): {}", d.code, d.reason, d.message),
            (Error::Connect(m), None) => write!(f, "cannot connect: {m}"),
            (Error::Protocol(m), None) => write!(f, "protocol error: {m}"),
            _ => unreachable!("every status variant has details"),
        }
    }
}

impl std::error::Error for Error {}
