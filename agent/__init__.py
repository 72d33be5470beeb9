"""sandcell's agent: a model loop whose code actions run in the sandboxed executor."""
from agent.base_agent import ManagedAgentTool, MultiStepAgent
from agent.code_agent import CodeAgent
from agent.errors import (AgentError, AgentExecutionError, AgentMaxStepsError, AgentParsingError,
                          AgentToolCallError, AgentToolError, AgentToolExecutionError, AuthenticationError,
                          ExecutorStartError, ModelError, ModelNotFoundError, RateLimitError)
from agent.executor_conn import ExecutorConnection, open_executor
from agent.memory import (ActionStep, AgentMemory, FinalAnswerStep, MemoryStep, PlanningStep, RunResult,
                          SystemPromptStep, TaskStep, Timing)
from agent.models import (ApiModel, AzureOpenAIModel, AzureOpenAIServerModel, ChatMessage, ChatMessageStreamDelta,
                          ChatMessageToolCallStreamDelta, HfApiModel, InferenceClientModel, LiteLLMModel, Model,
                          OpenAIModel, OpenAIServerModel, RetryPolicy, TokenUsage, ToolCall,
                          agglomerate_stream_deltas)
from agent.monitor import AgentLogger, LogLevel
from agent.prompts import PromptTemplates, populate_template
from agent.default_tools import (TOOL_MAPPING, DuckDuckGoSearchTool, PythonInterpreterTool, UserInputTool,
                                 VisitWebpageTool, WikipediaSearchTool)
from agent.hub import ToolCollection, load_tool
from agent.tool_calling_agent import ToolCallingAgent
from agent.tools import FinalAnswerTool, Tool, tool
from sandcell.container import ContainerError, ContainerStartError, DockerUnavailable, ImageNotFound


def __getattr__(name):
    # Optional extras load on first use: torch for TransformersModel, smolagents for the adapter.
    if name == "TransformersModel":
        from agent.models.transformers_model import TransformersModel
        return TransformersModel
    if name == "MCPClient":
        from agent.mcp_client import MCPClient
        return MCPClient
    if name == "GradioUI":
        from agent.web_ui import GradioUI
        return GradioUI
    if name == "SandcellExecutor":
        from agent.smolagents_adapter import SandcellExecutor
        return SandcellExecutor
    raise AttributeError(f"module 'agent' has no attribute {name!r}")


__all__ = [
    "CodeAgent", "ToolCallingAgent", "MultiStepAgent", "ManagedAgentTool",
    "Model", "ApiModel", "LiteLLMModel", "InferenceClientModel", "HfApiModel", "OpenAIServerModel", "OpenAIModel",
    "AzureOpenAIServerModel", "AzureOpenAIModel", "TransformersModel",
    "ChatMessage", "ToolCall", "TokenUsage", "RetryPolicy",
    "ChatMessageStreamDelta", "ChatMessageToolCallStreamDelta", "agglomerate_stream_deltas",
    "LogLevel", "AgentLogger", "PromptTemplates", "populate_template",
    "Tool", "tool", "FinalAnswerTool", "DuckDuckGoSearchTool", "VisitWebpageTool", "WikipediaSearchTool",
    "PythonInterpreterTool", "UserInputTool", "TOOL_MAPPING",
    "ToolCollection", "load_tool", "MCPClient",
    "AgentMemory", "MemoryStep", "SystemPromptStep", "TaskStep", "PlanningStep", "ActionStep", "FinalAnswerStep",
    "RunResult", "Timing",
    "ExecutorConnection", "open_executor", "SandcellExecutor",
    "AgentError", "ModelError", "AuthenticationError", "ModelNotFoundError", "RateLimitError",
    "AgentParsingError", "AgentToolError", "AgentToolCallError", "AgentToolExecutionError",
    "AgentExecutionError", "AgentMaxStepsError", "ExecutorStartError",
    "ContainerError", "DockerUnavailable", "ImageNotFound", "ContainerStartError",
]
