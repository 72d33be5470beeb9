//! Tool callbacks: async closures that answer the code's tool calls from this process.
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::pb;

/// A tool's failure; raised inside the sandboxed code as `ToolError(message)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolError {
    /// The exception type name on the client side, e.g. "ValueError".
    pub type_name: String,
    /// What went wrong, for the code (and the model) to read.
    pub message: String,
}

impl ToolError {
    pub fn new(type_name: impl Into<String>, message: impl Into<String>) -> Self {
        ToolError { type_name: type_name.into(), message: message.into() }
    }
}

type ToolFuture = Pin<Box<dyn Future<Output = Result<Json, ToolError>> + Send>>;
type Handler = Arc<dyn Fn(Map<String, Json>) -> ToolFuture + Send + Sync>;

/// The handlers for the tools a session declared, by name. Cheap to clone.
#[derive(Clone, Default)]
pub struct Tools {
    handlers: HashMap<String, Handler>,
}

impl Tools {
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers calls to `name` with `f(keyword arguments)`; its Err is raised in the code.
    pub fn add<F, Fut>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(Map<String, Json>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Json, ToolError>> + Send + 'static,
    {
        self.handlers.insert(name.into(), Arc::new(move |args| Box::pin(f(args))));
        self
    }

    /// Runs one call and builds the answer; every failure becomes a ToolError in the code.
    pub(crate) async fn answer(&self, call: &pb::ToolCall) -> pb::ExecuteRequest {
        let outcome = match self.run(call).await {
            Ok(value) => pb::tool_result::Outcome::ResultJson(value.to_string()),
            Err(e) => pb::tool_result::Outcome::Error(pb::ToolError { r#type: e.type_name, message: e.message }),
        };
        pb::ExecuteRequest {
            kind: Some(pb::execute_request::Kind::ToolResult(pb::ToolResult {
                call_id: call.call_id.clone(),
                outcome: Some(outcome),
            })),
        }
    }

    async fn run(&self, call: &pb::ToolCall) -> Result<Json, ToolError> {
        let handler = self.handlers.get(&call.name).ok_or_else(|| {
            ToolError::new("NameError", format!("tool {:?} has no handler on the client", call.name))
        })?;
        let args = match serde_json::from_str::<Json>(if call.arguments_json.is_empty() { "{}" } else { &call.arguments_json }) {
            Ok(Json::Object(map)) => map,
            _ => return Err(ToolError::new("TypeError", "tool arguments must be a JSON object")),
        };
        handler(args).await
    }
}
