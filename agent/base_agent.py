"""The loop shared by CodeAgent and ToolCallingAgent: steps, planning, callbacks, max steps."""
from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Generator, Sequence
from typing import Any

from agent.errors import AgentError, AgentMaxStepsError, ModelError
from agent.memory import (ActionStep, AgentMemory, FinalAnswerStep, MemoryStep, PlanningStep, RunResult,
                          TaskStep, Timing)
from agent.models.base import ChatMessage, Model
from agent.prompts import (FINAL_ANSWER_POST, FINAL_ANSWER_PRE, MANAGED_REPORT, MANAGED_TASK,
                           PLANNING_INITIAL, PLANNING_UPDATE, render)
from agent.tools import FinalAnswerTool, Tool

__all__ = ["MultiStepAgent", "ManagedAgentTool", "StepCallbacks"]

StepCallbacks = Sequence[Callable[..., Any]] | dict[type, Callable[..., Any] | Sequence[Callable[..., Any]]]


class ManagedAgentTool(Tool):
    """Another agent offered as a tool: `name(task, additional_args=None) -> str`."""

    output_type = "string"
    inputs = {"task": {"type": "string", "description": "The task for the agent, with all details it needs."},
              "additional_args": {"type": "object", "nullable": True,
                                  "description": "Extra inputs (JSON values) for the agent."}}

    def __init__(self, agent: "MultiStepAgent"):
        if not agent.name or not agent.description:
            raise ValueError("an agent used as a tool needs a `name` and a `description`")
        self.agent = agent
        self.name = agent.name
        self.description = agent.description
        super().__init__()

    def forward(self, task: str, additional_args: dict | None = None) -> str:
        full_task = render(MANAGED_TASK, name=self.name, task=task)
        answer = self.agent.run(full_task, additional_args=additional_args)
        return render(MANAGED_REPORT, name=self.name, final_answer=answer)


def _accepts_agent_kwarg(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "agent" or p.kind is p.VAR_KEYWORD for p in params)


class MultiStepAgent:
    """Subclasses implement `_system_prompt()` and `_step(step)`."""

    def __init__(self, tools: Sequence[Tool], model: Model, *, max_steps: int = 20,
                 planning_interval: int | None = None, step_callbacks: StepCallbacks | None = None,
                 instructions: str | None = None, name: str | None = None, description: str | None = None,
                 managed_agents: Sequence["MultiStepAgent"] = (),
                 final_answer_checks: Sequence[Callable[..., bool]] = (),
                 return_full_result: bool = False):
        self.model = model
        self.max_steps = max_steps
        self.planning_interval = planning_interval
        self.instructions = instructions
        if name is not None and not name.isidentifier():
            raise ValueError(f"agent name {name!r} must be a valid Python identifier")
        self.name, self.description = name, description
        self.final_answer_checks = list(final_answer_checks)
        self.return_full_result = return_full_result
        self.tools: dict[str, Tool] = {}
        for t in [*tools, *(ManagedAgentTool(a) for a in managed_agents)]:
            if t.name in self.tools:
                raise ValueError(f"two tools are named {t.name!r}")
            self.tools[t.name] = t
        self.tools.setdefault("final_answer", FinalAnswerTool())
        self._callbacks: dict[type, list[Callable[..., Any]]] = {}
        if isinstance(step_callbacks, dict):
            for cls, cbs in step_callbacks.items():
                self._callbacks[cls] = list(cbs) if isinstance(cbs, (list, tuple)) else [cbs]
        elif step_callbacks:
            self._callbacks[ActionStep] = list(step_callbacks)
        self.memory = AgentMemory("")
        self.task: str | None = None
        self.state: dict[str, Any] = {}
        self._interrupted = False

    # ---- to implement ----
    def _system_prompt(self) -> str:
        raise NotImplementedError

    def _step(self, step: ActionStep) -> None:
        """Runs one action; sets step.action_output and step.is_final_answer. Raises AgentError
        for failures the model should see, ModelError to abort."""
        raise NotImplementedError

    def _prepare_run(self, additional_args: dict[str, Any] | None) -> None:
        """Hook before the first step (CodeAgent opens its session here)."""

    # ---- public API ----
    def run(self, task: str, *, stream: bool = False, reset: bool = True, max_steps: int | None = None,
            additional_args: dict[str, Any] | None = None, return_full_result: bool | None = None):
        """Runs the task. Returns the final answer, or a RunResult when `return_full_result`;
        with `stream=True`, a generator of steps (PlanningStep, ActionStep, then FinalAnswerStep)."""
        events = self._run_events(task, reset, max_steps or self.max_steps, additional_args)
        if stream:
            return events
        start = time.time()
        final: Any = None
        for event in events:
            if isinstance(event, FinalAnswerStep):
                final = event.output
        full = self.return_full_result if return_full_result is None else return_full_result
        if not full:
            return final
        actions = self.memory.action_steps()
        last = actions[-1] if actions else None
        state = "max_steps_error" if isinstance(getattr(last, "error", None), AgentMaxStepsError) else "success"
        return RunResult(final, state, tuple(self.memory.steps), self.memory.token_usage(),
                         Timing(start, time.time()))

    def __call__(self, task: str, **kwargs: Any) -> Any:
        return self.run(task, **kwargs)

    def interrupt(self) -> None:
        """Stops the run before its next step."""
        self._interrupted = True

    def write_memory_to_messages(self, summary_mode: bool = False) -> list[ChatMessage]:
        return self.memory.to_messages(summary_mode)

    # ---- the loop ----
    def _run_events(self, task: str, reset: bool, max_steps: int,
                    additional_args: dict[str, Any] | None) -> Generator[MemoryStep, None, None]:
        self._interrupted = False
        if additional_args:
            self.state.update(additional_args)
            task += ("\nYou have been provided with these additional arguments, that you can access "
                     f"directly using the keys as variables:\n{json.dumps(additional_args, default=repr)}")
        self.task = task
        self._prepare_run(additional_args)
        if reset or not self.memory.system_prompt.system_prompt:
            self.memory = AgentMemory(self._system_prompt())
        self.memory.steps.append(TaskStep(task))
        final_step: ActionStep | None = None
        step_number = 1
        while final_step is None and step_number <= max_steps:
            if self._interrupted:
                raise AgentError("the agent was interrupted")
            if self.planning_interval and (step_number - 1) % self.planning_interval == 0:
                plan = self._plan(step_number, max_steps)
                self._record(plan)
                yield plan
            step = ActionStep(step_number, Timing(time.time()))
            try:
                self._step(step)
                if step.is_final_answer:
                    self._check_final_answer(step.action_output)
            except ModelError:
                self._record(self._ended(step))
                raise
            except AgentError as err:
                step.error = err
                step.is_final_answer = False
            except Exception:
                # not the model's doing (executor unreachable, a bug): abort, but keep the
                # step in memory so callers can see how far the run got
                self._record(self._ended(step))
                raise
            self._record(self._ended(step))
            yield step
            if step.is_final_answer:
                final_step = step
            step_number += 1
        if final_step is None:
            final_step = self._handle_max_steps(step_number)
            yield final_step
        answer = FinalAnswerStep(final_step.action_output)
        self._record(answer)
        yield answer

    @staticmethod
    def _ended(step: ActionStep) -> ActionStep:
        step.timing = step.timing.ended()
        return step

    def _record(self, step: PlanningStep | ActionStep | FinalAnswerStep) -> None:
        self.memory.steps.append(step)
        for cls, cbs in self._callbacks.items():
            if isinstance(step, cls):
                for cb in cbs:
                    cb(step, agent=self) if _accepts_agent_kwarg(cb) else cb(step)

    def _check_final_answer(self, answer: Any) -> None:
        for check in self.final_answer_checks:
            try:
                ok = check(answer, self.memory, agent=self) if _accepts_agent_kwarg(check) else check(answer, self.memory)
            except Exception as exc:  # a check's own failure is a rejection the model should hear about
                raise AgentError(f"Check {getattr(check, '__name__', check)!r} failed with error: {exc}") from exc
            if not ok:
                raise AgentError(f"Check {getattr(check, '__name__', check)!r} failed: the final answer was rejected.")

    def _tools_description(self) -> str:
        return "\n".join(t.to_tool_calling_prompt() for t in self.tools.values())

    def _plan(self, step_number: int, max_steps: int) -> PlanningStep:
        start = time.time()
        tools = self._tools_description()
        if step_number == 1:
            messages = [ChatMessage("user", render(PLANNING_INITIAL, tools=tools, task=self.task))]
        else:
            messages = [*self.memory.to_messages(summary_mode=True),
                        ChatMessage("user", render(PLANNING_UPDATE, tools=tools, task=self.task,
                                                   remaining_steps=max_steps - step_number + 1))]
        msg = self.model.generate(messages, stop_sequences=["<end_plan>"])
        plan = (msg.content or "").strip()
        return PlanningStep(f"Here is the plan of action that I will follow to solve the task:\n```\n{plan}\n```",
                            Timing(start, time.time()), msg.token_usage, msg)

    def _handle_max_steps(self, step_number: int) -> ActionStep:
        """One more model call: answer from memory, recorded as a step carrying AgentMaxStepsError."""
        step = ActionStep(step_number, Timing(time.time()))
        messages = [ChatMessage("system", FINAL_ANSWER_PRE), *self.memory.to_messages()[1:],
                    ChatMessage("user", render(FINAL_ANSWER_POST, task=self.task))]
        try:
            msg = self.model.generate(messages)
        except ModelError:
            self._record(self._ended(step))
            raise
        step.model_output_message = msg
        step.model_output = msg.content
        step.token_usage = msg.token_usage
        step.action_output = msg.content
        step.is_final_answer = True
        step.error = AgentMaxStepsError(f"Reached max steps ({step_number - 1}) without a final answer.")
        self._record(self._ended(step))
        return step

    # ---- lifecycle ----
    def close(self) -> None:
        """Releases what the agent holds (CodeAgent: its executor session)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
