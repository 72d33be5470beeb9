//! Async Rust client for the sandcell executor: sandboxed, stateful Python sessions over gRPC.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sandcell_client::Error> {
//! use sandcell_client::{Client, Error, ExecuteOptions, SessionOptions, ToolSpec, Tools};
//! use serde_json::json;
//!
//! let client = Client::builder("127.0.0.1:50051").token("t").connect().await?;
//! let session = client.create_session(SessionOptions {
//!     tools: vec![ToolSpec::new("search")], ..Default::default() }).await?;
//! let tools = Tools::new().add("search", |args| async move { Ok(json!(format!("found {}", args["q"]))) });
//! let r = session.execute_with("search(q='x')", &tools, &ExecuteOptions::default()).await?;
//! assert_eq!(r.value.unwrap().json, Some(json!("found \"x\"")));
//! match client.get_session("gone").await { Err(Error::SessionNotFound(d)) => println!("{}", d.message), _ => {} }
//! # Ok(()) }
//! ```

/// The generated messages and stub of `sandcell.executor.v1`, compiled from `proto/` at build time.
pub mod pb {
    tonic::include_proto!("sandcell.executor.v1");
}

mod client;
mod error;
mod health;
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
