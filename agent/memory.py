"""Typed steps of a run, how they turn back into chat messages, and the run's result."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from agent.errors import AgentError
from agent.models.base import ChatMessage, TokenUsage, ToolCall

__all__ = ["Timing", "TaskStep", "PlanningStep", "ActionStep", "FinalAnswerStep", "SystemPromptStep",
           "AgentMemory", "RunResult", "MemoryStep"]

_RETRY_HINT = ("Now let's retry: take care not to repeat previous errors! "
               "If you have retried several times, try a completely different approach.")


@dataclass(frozen=True)
class Timing:
    start_time: float
    end_time: float | None = None

    @property
    def duration_s(self) -> float | None:
        return None if self.end_time is None else self.end_time - self.start_time

    def ended(self) -> "Timing":
        return Timing(self.start_time, time.time())


# Steps are filled in while they run (model output first, observations later), so they are
# plain mutable dataclasses; everything they hold is a frozen value.
@dataclass
class SystemPromptStep:
    system_prompt: str

    def to_messages(self, summary_mode: bool = False) -> list[ChatMessage]:
        return [] if summary_mode else [ChatMessage("system", self.system_prompt)]


@dataclass
class TaskStep:
    task: str
    task_images: tuple[Any, ...] = ()  # images given with run(images=...), shown with the task

    def to_messages(self, summary_mode: bool = False) -> list[ChatMessage]:
        return [ChatMessage("user", f"New task:\n{self.task}", images=tuple(self.task_images))]


@dataclass
class PlanningStep:
    plan: str
    timing: Timing
    token_usage: TokenUsage | None = None
    model_output_message: ChatMessage | None = None

    def to_messages(self, summary_mode: bool = False) -> list[ChatMessage]:
        if summary_mode:
            return []
        return [ChatMessage("assistant", self.plan.strip()),
                ChatMessage("user", "Now proceed and carry out this plan.")]


@dataclass
class ActionStep:
    step_number: int
    timing: Timing
    model_output: str | None = None
    model_output_message: ChatMessage | None = None
    code_action: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    observations: str | None = None
    action_output: Any = None
    error: AgentError | None = None
    token_usage: TokenUsage | None = None
    is_final_answer: bool = False

    def to_messages(self, summary_mode: bool = False) -> list[ChatMessage]:
        out: list[ChatMessage] = []
        text = (self.model_output or "").strip() if not summary_mode else ""
        if self.tool_calls and not self.code_action and (not text or not _mentions_calls(text, self.tool_calls)):
            # native tool calls come with little or no text: show the calls so the model sees what it did
            calls = [{"name": c.name, "arguments": c.arguments} for c in self.tool_calls]
            text = (text + "\n" if text else "") + "Calling tools:\n" + json.dumps(calls, default=str)
        if text:
            out.append(ChatMessage("assistant", text))
        if self.observations:
            out.append(ChatMessage("user", f"Observation:\n{self.observations}"))
        if self.error is not None:
            out.append(ChatMessage("user", f"Error:\n{self.error}\n{_RETRY_HINT}"))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "action", "step_number": self.step_number,
            "duration_s": self.timing.duration_s, "model_output": self.model_output,
            "code_action": self.code_action,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "observations": self.observations, "action_output": _jsonable(self.action_output),
            "error": None if self.error is None else {"type": type(self.error).__name__,
                                                      "message": str(self.error)},
            "token_usage": None if self.token_usage is None else asdict(self.token_usage),
            "is_final_answer": self.is_final_answer,
        }


@dataclass
class FinalAnswerStep:
    """The run's answer, last in memory. It adds nothing to the chat: the action that gave it
    (or the max-steps answer) is already there."""

    output: Any

    def to_messages(self, summary_mode: bool = False) -> list[ChatMessage]:
        return []


MemoryStep = SystemPromptStep | TaskStep | PlanningStep | ActionStep | FinalAnswerStep


def _mentions_calls(text: str, calls: list[ToolCall]) -> bool:
    """True when the text already holds the calls (JSON actions written in the text)."""
    return all(f'"{c.name}"' in text for c in calls)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


class AgentMemory:
    """The system prompt plus every step of the current run."""

    def __init__(self, system_prompt: str):
        self.system_prompt = SystemPromptStep(system_prompt)
        self.steps: list[TaskStep | PlanningStep | ActionStep | FinalAnswerStep] = []

    def reset(self) -> None:
        self.steps = []

    def to_messages(self, summary_mode: bool = False) -> list[ChatMessage]:
        msgs = self.system_prompt.to_messages(summary_mode)
        for step in self.steps:
            msgs.extend(step.to_messages(summary_mode))
        return msgs

    def action_steps(self) -> list[ActionStep]:
        return [s for s in self.steps if isinstance(s, ActionStep)]

    def token_usage(self) -> TokenUsage:
        total = TokenUsage()
        for s in self.steps:
            total = total + getattr(s, "token_usage", None)
        return total

    def full_code(self) -> str:
        """Every code action of the run, in order: a script that replays it."""
        return "\n\n".join(s.code_action for s in self.action_steps() if s.code_action)

    def get_full_steps(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for s in self.steps:
            if isinstance(s, ActionStep):
                out.append(s.to_dict())
            elif isinstance(s, TaskStep):
                out.append({"type": "task", "task": s.task})
            elif isinstance(s, FinalAnswerStep):
                out.append({"type": "final_answer", "output": _jsonable(s.output)})
            else:
                out.append({"type": "planning", "plan": s.plan, "duration_s": s.timing.duration_s,
                            "token_usage": None if s.token_usage is None else asdict(s.token_usage)})
        return out


@dataclass(frozen=True)
class RunResult:
    """What `run(..., return_full_result=True)` returns."""

    output: Any
    state: str  # "success" | "max_steps_error"
    steps: tuple[TaskStep | PlanningStep | ActionStep | FinalAnswerStep, ...]
    token_usage: TokenUsage
    timing: Timing

    @property
    def success(self) -> bool:
        return self.state == "success"
