"""One exception tree for the agent.

Parsing, tool and code failures are recorded on a step and shown to the model; only
model/API failures (ModelError) and misuse abort a run.
"""
from __future__ import annotations

__all__ = [
    "AgentError", "ModelError", "AuthenticationError", "ModelNotFoundError", "RateLimitError",
    "AgentParsingError", "AgentToolError", "AgentToolCallError", "AgentToolExecutionError",
    "AgentExecutionError", "AgentMaxStepsError", "ExecutorStartError",
]


class AgentError(Exception):
    """Base of every error the agent raises or records on a step."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ModelError(AgentError):
    """The model call failed (network, server error, bad response). Aborts the run."""

    def __init__(self, message: str, *, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class AuthenticationError(ModelError):
    """The provider rejected the credentials (401/403)."""


class ModelNotFoundError(ModelError):
    """The provider does not know the model id (404)."""


class RateLimitError(ModelError):
    """Still rate limited (429) after every retry."""


class AgentParsingError(AgentError):
    """The model's output held no runnable code or no valid tool call."""


class AgentToolError(AgentError):
    """Base for tool failures shown to the model."""


class AgentToolCallError(AgentToolError):
    """A tool was called with unknown names or arguments of the wrong type."""


class AgentToolExecutionError(AgentToolError):
    """A tool raised while running."""


class AgentExecutionError(AgentError):
    """The code action failed in the sandbox (exception, timeout, limit)."""


class AgentMaxStepsError(AgentError):
    """The run reached max_steps without a final answer."""


class ExecutorStartError(AgentError):
    """The embedded executor process did not come up."""
