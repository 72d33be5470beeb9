//! Async Rust client for the sandcell executor: sandboxed, stateful Python sessions over gRPC.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sandcell_client::Error> {
//! use sandcell_client::{Client, SessionOptions};
//! let client = Client::connect("127.0.0.1:50051").await?;
//! let session = client.create_session(SessionOptions::default()).await?;
//! let r = session.execute("x = 21\nx * 2").await?;
//! assert_eq!(r.value.unwrap().json, Some(serde_json::json!(42)));
//! session.close().await?;
//! # Ok(()) }
//! ```

/// The generated messages and stub of `sandcell.executor.v1`, compiled from `proto/` at build time.
pub mod pb {
    tonic::include_proto!("sandcell.executor.v1");
}

mod client;
mod error;
mod tools;
mod types;

#[cfg(feature = "tls")]
pub use client::TlsOptions;
pub use client::{Client, ClientBuilder, Event, Execution, Session, SessionOptions};
pub use error::{Error, ErrorDetails, Exhausted};
pub use tools::{ToolError, Tools};
pub use types::{
    CodeError, ExecuteOptions, ExecuteResult, ExecuteStatus, Limits, OutputStream, SessionInfo, SessionState,
    ToolSpec, Value,
};
