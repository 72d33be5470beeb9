"""What a run shows on the console as it goes (smolagents' `verbosity_level`), shared by the
agents and the CLI: each step's thought, code, live output, errors, timing and tokens, and the
model's tokens as they stream when `stream_outputs` is on."""
from __future__ import annotations

from enum import IntEnum
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.text import Text

from agent.errors import AgentMaxStepsError
from agent.memory import ActionStep, PlanningStep

__all__ = ["LogLevel", "AgentLogger"]


class LogLevel(IntEnum):
    """smolagents' levels: OFF prints nothing, ERROR only errors, INFO every step, DEBUG more."""

    OFF = -1
    ERROR = 0
    INFO = 1
    DEBUG = 2


class AgentLogger:
    """Renders a run's steps as they happen."""

    def __init__(self, level: LogLevel | int = LogLevel.INFO, console: Console | None = None):
        self.level = LogLevel(level)
        self.console = console or Console(highlight=False)
        self.live_output = False
        self._streamed: int | None = None  # step whose model output was already shown token by token
        self.code_block_opening_tag = "<code>"

    def header(self, number: int) -> None:
        if self.level >= LogLevel.INFO:
            self.console.print(Rule(f"[bold]Step {number}"))

    def task(self, task: str, title: str = "") -> None:
        if self.level >= LogLevel.INFO:
            self.console.print(Panel(Text(task), title=title or "new run", title_align="left"))

    def stream_delta(self, step_number: int, text: str) -> None:
        """A piece of the model's output, printed the moment it arrives."""
        if self.level < LogLevel.INFO:
            return
        if self._streamed != step_number:
            self.header(step_number)
            self._streamed = step_number
        self.console.out(text, end="", style="italic", highlight=False)

    def before_execute(self, step: ActionStep) -> None:
        if self.level < LogLevel.INFO:
            return
        if self._streamed == step.step_number:
            self.console.print()
        else:
            self.header(step.step_number)
            self._thought(step.model_output or "")
        if step.code_action:
            self.console.print(Panel(Syntax(step.code_action, "python", theme="ansi_dark"),
                                     title="code", title_align="left"))
        self.live_output = False

    def on_output(self, stream: str, text: str) -> None:
        if self.level < LogLevel.INFO:
            return
        if not self.live_output:
            self.console.print(Text("output:", style="bold"))
            self.live_output = True
        self.console.out(text, end="", style="red" if stream == "stderr" else None, highlight=False)

    def _thought(self, text: str) -> None:
        thought = text.split(self.code_block_opening_tag)[0].split("<code>")[0].split("```")[0].strip()
        if thought:
            self.console.print(Text(thought, style="italic"))

    def step(self, step: ActionStep, code_agent: bool) -> None:
        if self.level < LogLevel.INFO:
            if self.level >= LogLevel.ERROR and step.error is not None:
                self._error(step)
            return
        streamed = self._streamed == step.step_number
        if not code_agent or step.code_action is None:
            if streamed:
                self.console.print()
            else:
                self.header(step.step_number)
                self._thought(step.model_output or "")
            for call in step.tool_calls:
                self.console.print(Text(f"→ {call.name}({call.arguments})", style="cyan"))
            if step.observations and not code_agent:
                self.console.print(Text(step.observations))
        elif self.live_output:
            self.console.print()
        if step.error is not None and not isinstance(step.error, AgentMaxStepsError):
            self._error(step)
        elif code_agent and step.observations and not step.is_final_answer:
            last = step.observations.rsplit("Last output from code snippet:\n", 1)
            if len(last) == 2:
                self.console.print(Text(f"Out: {last[1]}"))
        tokens = step.token_usage
        self.console.print(Text(
            f"[Step {step.step_number}: {step.timing.duration_s or 0:.2f}s"
            + (f" | tokens in {tokens.input_tokens}, out {tokens.output_tokens}" if tokens else "") + "]",
            style="dim"))

    def _error(self, step: ActionStep) -> None:
        self.console.print(Panel(Text(str(step.error), style="red"), title=type(step.error).__name__,
                                 title_align="left", border_style="red"))

    def plan(self, step: PlanningStep) -> None:
        if self.level >= LogLevel.INFO:
            self.console.print(Panel(Text(step.plan), title="plan", title_align="left"))

    def final_answer(self, answer: Any) -> None:
        if self.level >= LogLevel.INFO:
            self.console.print(Text(f"Final answer: {answer}", style="bold yellow"))
