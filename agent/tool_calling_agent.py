"""ToolCallingAgent: actions are tool calls (native when the model has them, JSON in text otherwise)."""
from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent.base_agent import MultiStepAgent
from agent.errors import AgentError, AgentToolCallError, AgentToolError, AgentToolExecutionError
from agent.memory import ActionStep
from agent.models.base import Model, ToolCall
from agent.parsing import parse_json_tool_calls
from agent.prompts import TOOL_CALLING_SYSTEM_PROMPT
from agent.tools import Tool, validate_arguments

__all__ = ["ToolCallingAgent"]


class ToolCallingAgent(MultiStepAgent):
    """`use_native_tools` defaults to what the model supports; `max_tool_threads` bounds how
    many of one step's calls run at once."""

    DEFAULT_SYSTEM_PROMPT = TOOL_CALLING_SYSTEM_PROMPT

    def __init__(self, tools: Sequence[Any], model: Model, *, use_native_tools: bool | None = None,
                 max_tool_threads: int | None = None, **kwargs: Any):
        super().__init__(tools, model, **kwargs)
        self.use_native_tools = model.supports_native_tools if use_native_tools is None else use_native_tools
        self.max_tool_threads = max_tool_threads or 4

    def _step(self, step: ActionStep):
        msg = yield from self._call_model(
            step.step_number, self.memory.to_messages(), stop_sequences=["Observation:", "Calling tools:"],
            tools=list(self.tools.values()) if self.use_native_tools else None)
        step.model_output_message, step.token_usage = msg, msg.token_usage
        step.model_output = msg.content
        calls = list(msg.tool_calls) or parse_json_tool_calls(msg.content or "")
        step.tool_calls = calls
        finals = [c for c in calls if c.name == "final_answer"]
        if finals:
            if len(calls) > 1:
                raise AgentToolCallError("final_answer must be called alone, not together with other tool calls "
                                         "in the same step: call the other tools first, then final_answer.")
            step.action_output = self._final_answer_value(finals[0])
            step.is_final_answer = True
            return
        if len(calls) == 1:
            results = [self._run_call(calls[0])]
        else:
            with ThreadPoolExecutor(min(self.max_tool_threads, len(calls))) as pool:
                results = list(pool.map(self._run_call, calls))
        step.observations = "\n".join(text for text, _ in results if text)
        errors = [err for _, err in results if err is not None]
        step.action_output = results[-1][0] if len(results) == 1 else None
        if errors:
            raise (errors[0] if len(errors) == 1 else AgentToolError("\n".join(str(e) for e in errors)))

    def _final_answer_value(self, call: ToolCall) -> Any:
        args = call.arguments
        if not isinstance(args, dict):
            return args  # `"arguments": "42"`: the answer itself
        validate_arguments(self.tools["final_answer"], args)
        return self.tools["final_answer"](**args)

    def _run_call(self, call: ToolCall) -> tuple[str, AgentError | None]:
        """(observation text, error) for one call; tool failures never escape."""
        tool = self.tools.get(call.name)
        if tool is None:
            return "", AgentToolCallError(f"Unknown tool {call.name!r}; available tools: "
                                          f"{', '.join(self.tools)}.")
        try:
            validate_arguments(tool, call.arguments)
        except AgentToolCallError as err:
            return "", AgentToolCallError(f"Invalid call to tool {call.name!r}: {err}. "
                                          f"It takes: {tool.inputs}")
        try:
            result = tool(**call.arguments)
        except Exception as exc:  # a tool bug must reach the model, not crash the run
            return "", AgentToolExecutionError(
                f"Error executing tool {call.name!r} with arguments {call.arguments}: {type(exc).__name__}: {exc}\n"
                "Please try again or use another tool.")
        return f"Observation for {call.name}: {result}", None
