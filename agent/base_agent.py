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
from agent.models.streaming import ChatMessageStreamDelta, agglomerate_stream_deltas
from agent.monitor import AgentLogger, LogLevel
from agent.prompts import PromptTemplates, default_prompt_templates, merge_prompt_templates, populate_template
from agent.tools import FinalAnswerTool, Tool, as_tool

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
        templates = self.agent.prompt_templates["managed_agent"]
        full_task = populate_template(templates["task"], {"name": self.name, "task": task})
        answer = self.agent.run(full_task, additional_args=additional_args)
        report = str(answer)
        if self.agent.provide_run_summary:
            # smolagents' provide_run_summary: the manager also sees how the answer was reached
            report += ("\n\nFor more detail, find below a summary of this agent's work:\n<summary_of_work>\n"
                       + "\n".join(f"{m.role}: {m.content}" for m in self.agent.write_memory_to_messages(True))
                       + "\n</summary_of_work>")
        return populate_template(templates["report"], {"name": self.name, "final_answer": report})


def _accepts_agent_kwarg(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "agent" or p.kind is p.VAR_KEYWORD for p in params)


# smolagents keywords whose meaning sandcell does not offer, and what to do instead
_REFUSED = {
    "logger": "sandcell renders steps itself: pass verbosity_level= (LogLevel) to choose how much, "
              "or step_callbacks= to receive every step",
}


def refuse_unsupported(owner: str, kwargs: dict[str, Any], refused: dict[str, str]) -> None:
    """A TypeError naming the keyword and what to do instead, for keywords sandcell differs on."""
    for key, advice in refused.items():
        if key in kwargs:
            raise TypeError(f"{owner}({key}=...) is not supported by sandcell: {advice}")


class MultiStepAgent:
    """Subclasses set DEFAULT_SYSTEM_PROMPT and implement `_step(step)` (a generator that may
    yield stream deltas)."""

    DEFAULT_SYSTEM_PROMPT = ""

    def __init__(self, tools: Sequence[Any], model: Model, *, prompt_templates: PromptTemplates | None = None,
                 instructions: str | None = None, max_steps: int = 20, add_base_tools: bool = False,
                 verbosity_level: LogLevel | int = LogLevel.INFO,
                 managed_agents: Sequence["MultiStepAgent"] | None = None,
                 step_callbacks: StepCallbacks | None = None, planning_interval: int | None = None,
                 name: str | None = None, description: str | None = None, provide_run_summary: bool = False,
                 final_answer_checks: Sequence[Callable[..., bool]] | None = None,
                 return_full_result: bool = False, stream_outputs: bool = False, **kwargs: Any):
        refuse_unsupported(type(self).__name__, kwargs, _REFUSED)
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments: {', '.join(kwargs)}")
        self.model = model
        self.max_steps = max_steps
        self.planning_interval = planning_interval
        self.instructions = instructions
        if name is not None and not name.isidentifier():
            raise ValueError(f"agent name {name!r} must be a valid Python identifier")
        self.name, self.description = name, description
        self.provide_run_summary = provide_run_summary
        self.final_answer_checks = list(final_answer_checks or ())
        self.return_full_result = return_full_result
        self.prompt_templates = merge_prompt_templates(default_prompt_templates(self.DEFAULT_SYSTEM_PROMPT),
                                                       prompt_templates)
        self.stream_outputs = stream_outputs
        if stream_outputs and not hasattr(model, "generate_stream"):
            raise ValueError("stream_outputs=True, but the model class implements no `generate_stream` method")
        self.logger = AgentLogger(verbosity_level)
        self.tools: dict[str, Tool] = {}
        base = self._base_tools() if add_base_tools else []
        self.managed_agents = {a.name: ManagedAgentTool(a) for a in (managed_agents or ())}
        for t in [*map(as_tool, tools), *base, *self.managed_agents.values()]:
            if t.name in self.tools and t not in base:
                raise ValueError(f"two tools are named {t.name!r}")
            self.tools.setdefault(t.name, t)
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
    def _template_variables(self) -> dict[str, Any]:
        """What the system prompt template sees (smolagents' names)."""
        return {"tools": {n: t for n, t in self.tools.items() if n not in self.managed_agents},
                "managed_agents": dict(self.managed_agents), "custom_instructions": self.instructions}

    def _system_prompt(self) -> str:
        return populate_template(self.prompt_templates["system_prompt"], self._template_variables())

    @property
    def system_prompt(self) -> str:
        return self._system_prompt()

    def initialize_system_prompt(self) -> str:
        """smolagents' name for the rendered system prompt."""
        return self._system_prompt()

    def _base_tools(self) -> list[Tool]:
        """smolagents' add_base_tools set: web search, page visits (and, for ToolCallingAgent,
        the Python interpreter, which CodeAgent has natively)."""
        from agent.default_tools import base_tools
        return base_tools(include_python=not self._writes_code())

    def _writes_code(self) -> bool:
        return False

    def _step(self, step: ActionStep) -> Generator[ChatMessageStreamDelta, None, None]:
        """Runs one action; sets step.action_output and step.is_final_answer. Raises AgentError
        for failures the model should see, ModelError to abort. Yields the model's stream deltas."""
        raise NotImplementedError

    def _call_model(self, step_number: int, messages: list[ChatMessage], **kwargs: Any
                    ) -> Generator[ChatMessageStreamDelta, None, ChatMessage]:
        """One model call: token by token when stream_outputs is on (each delta is yielded and
        shown live), else in one piece. Returns the whole message."""
        if not self.stream_outputs:
            return self.model.generate(messages, **kwargs)
        deltas = []
        for delta in self.model.generate_stream(messages, **kwargs):
            deltas.append(delta)
            if delta.content:
                self.logger.stream_delta(step_number, delta.content)
            yield delta
        return agglomerate_stream_deltas(deltas)

    def _prepare_run(self, additional_args: dict[str, Any] | None) -> None:
        """Hook before the first step (CodeAgent opens its session here)."""

    # ---- public API ----
    def run(self, task: str, stream: bool = False, reset: bool = True, images: Sequence[Any] | None = None,
            additional_args: dict[str, Any] | None = None, max_steps: int | None = None,
            return_full_result: bool | None = None):
        """Runs the task. Returns the final answer, or a RunResult when `return_full_result`;
        with `stream=True`, a generator of steps (PlanningStep, ActionStep, then FinalAnswerStep,
        and ChatMessageStreamDelta as tokens arrive when `stream_outputs` is on). `images` go to
        the model with the task (PIL images, PNG/JPEG bytes or URLs), when the model takes images."""
        if images and not getattr(self.model, "supports_images", False):
            raise TypeError(f"{type(self.model).__name__} does not take images: run(images=...) needs a model "
                            "that does (OpenAIServerModel, LiteLLMModel, InferenceClientModel with a vision model)")
        events = self._run_events(task, reset, max_steps or self.max_steps, additional_args, tuple(images or ()))
        if stream:
            return events
        start = time.time()
        final: Any = None
        for event in events:
            if isinstance(event, FinalAnswerStep):
                final = event.output
                self.logger.final_answer(final)
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
    def _run_events(self, task: str, reset: bool, max_steps: int, additional_args: dict[str, Any] | None,
                    images: tuple[Any, ...] = ()) -> Generator[MemoryStep | ChatMessageStreamDelta, None, None]:
        self._interrupted = False
        if additional_args:
            self.state.update(additional_args)
            task += ("\nYou have been provided with these additional arguments, that you can access "
                     f"directly using the keys as variables:\n{json.dumps(additional_args, default=repr)}")
        self.task = task
        self._prepare_run(additional_args)
        if reset or not self.memory.system_prompt.system_prompt:
            self.memory = AgentMemory(self._system_prompt())
        self.memory.steps.append(TaskStep(task, images))
        self.logger.task(task, f"{type(self).__name__} · {getattr(self.model, 'model_id', '')}")
        final_step: ActionStep | None = None
        step_number = 1
        while final_step is None and step_number <= max_steps:
            if self._interrupted:
                raise AgentError("the agent was interrupted")
            if self.planning_interval and (step_number - 1) % self.planning_interval == 0:
                plan = yield from self._plan(step_number, max_steps)
                self._record(plan)
                yield plan
            step = ActionStep(step_number, Timing(time.time()))
            try:
                yield from self._step(step)
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
        if isinstance(step, ActionStep):
            self.logger.step(step, self._writes_code())
        elif isinstance(step, PlanningStep):
            self.logger.plan(step)
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

    def _plan(self, step_number: int, max_steps: int) -> Generator[ChatMessageStreamDelta, None, PlanningStep]:
        start = time.time()
        t = self.prompt_templates["planning"]
        variables = {**self._template_variables(), "task": self.task,
                     "remaining_steps": max_steps - step_number + 1}
        if step_number == 1:
            messages = [ChatMessage("user", populate_template(t["initial_plan"], variables))]
        else:
            messages = [ChatMessage("system", populate_template(t["update_plan_pre_messages"], variables)),
                        *self.memory.to_messages(summary_mode=True),
                        ChatMessage("user", populate_template(t["update_plan_post_messages"], variables))]
        msg = yield from self._call_model(step_number, messages, stop_sequences=["<end_plan>"])
        plan = (msg.content or "").strip()
        return PlanningStep(f"Here is the plan of action that I will follow to solve the task:\n```\n{plan}\n```",
                            Timing(start, time.time()), msg.token_usage, msg)

    def _handle_max_steps(self, step_number: int) -> ActionStep:
        """One more model call: answer from memory, recorded as a step carrying AgentMaxStepsError."""
        step = ActionStep(step_number, Timing(time.time()))
        t = self.prompt_templates["final_answer"]
        messages = [ChatMessage("system", populate_template(t["pre_messages"], {"task": self.task})),
                    *self.memory.to_messages()[1:],
                    ChatMessage("user", populate_template(t["post_messages"], {"task": self.task}))]
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
