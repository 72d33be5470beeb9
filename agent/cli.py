"""`agent run "task" --model ...`: runs an agent with live, readable progress.

Exit status: 0 when the agent gave a final answer, 1 when it failed (max steps reached,
model/API or executor error), 2 for bad usage.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.text import Text
from sandcell.client import SandcellError

from agent.code_agent import CodeAgent
from agent.errors import AgentError, AgentMaxStepsError
from agent.memory import ActionStep, FinalAnswerStep, PlanningStep
from agent.models.base import Model
from agent.tool_calling_agent import ToolCallingAgent

__all__ = ["main", "build_model", "build_parser"]

MODEL_TYPES = ("litellm", "openai", "inference", "transformers")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="agent", description="Run a sandcell agent on a task.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one task and print each step live")
    r.add_argument("task", help="the task, in words")
    r.add_argument("--model", required=True, help="model id, e.g. gpt-4o-mini or anthropic/claude-sonnet-4-5")
    r.add_argument("--model-type", choices=MODEL_TYPES, default="litellm",
                   help="backend (default litellm); credentials come from the provider's usual variables")
    r.add_argument("--api-base", help="custom endpoint (OpenAI-compatible server, litellm api_base, HF base_url)")
    r.add_argument("--provider", help="Hugging Face inference provider (model type 'inference')")
    r.add_argument("--agent", choices=("code", "tool-calling"), default="code", help="agent kind (default code)")
    r.add_argument("--executor", metavar="HOST:PORT", default=os.environ.get("SANDCELL_EXECUTOR"),
                   help="a running executor (default $SANDCELL_EXECUTOR, else an embedded local one); "
                        "its token comes from $SANDCELL_TOKEN")
    r.add_argument("--imports", nargs="*", default=[], metavar="MODULE",
                   help="extra modules the code may import, space- or comma-separated "
                        "(within a running executor's ceiling; an embedded one admits them)")
    r.add_argument("--max-steps", type=int, default=20)
    r.add_argument("--planning-interval", type=int, default=None)
    return p


def build_model(model_type: str, model_id: str, api_base: str | None = None, provider: str | None = None) -> Model:
    if model_type == "openai":
        from agent.models.openai_server import OpenAIServerModel
        return OpenAIServerModel(model_id, api_base=api_base)
    if model_type == "inference":
        from agent.models.inference_client import InferenceClientModel
        return InferenceClientModel(model_id, provider=provider, base_url=api_base)
    if model_type == "transformers":
        from agent.models.transformers_model import TransformersModel
        return TransformersModel(model_id)
    from agent.models.litellm_model import LiteLLMModel
    return LiteLLMModel(model_id, api_base=api_base)


class Progress:
    """Renders steps as they happen."""

    def __init__(self, console: Console):
        self.console = console
        self.live_output = False

    def header(self, number: int) -> None:
        self.console.print(Rule(f"[bold]Step {number}"))

    def before_execute(self, step: ActionStep) -> None:
        self.header(step.step_number)
        self._thought(step.model_output or "")
        if step.code_action:
            self.console.print(Panel(Syntax(step.code_action, "python", theme="ansi_dark"),
                                     title="code", title_align="left"))
        self.live_output = False

    def on_output(self, stream: str, text: str) -> None:
        if not self.live_output:
            self.console.print(Text("output:", style="bold"))
            self.live_output = True
        self.console.out(text, end="", style="red" if stream == "stderr" else None, highlight=False)

    def _thought(self, text: str) -> None:
        thought = text.split("<code>")[0].split("```")[0].strip()
        if thought:
            self.console.print(Text(thought, style="italic"))

    def step(self, step: ActionStep, code_agent: bool) -> None:
        if not code_agent or step.code_action is None:
            self.header(step.step_number)
            self._thought(step.model_output or "")
            for call in step.tool_calls:
                self.console.print(Text(f"→ {call.name}({call.arguments})", style="cyan"))
            if step.observations and not code_agent:
                self.console.print(Text(step.observations))
        elif self.live_output:
            self.console.print()
        if step.error is not None and not isinstance(step.error, AgentMaxStepsError):
            self.console.print(Panel(Text(str(step.error), style="red"), title=type(step.error).__name__,
                                     title_align="left", border_style="red"))
        elif code_agent and step.observations and not step.is_final_answer:
            last = step.observations.rsplit("Last output from code snippet:\n", 1)
            if len(last) == 2:
                self.console.print(Text(f"Out: {last[1]}"))
        tokens = step.token_usage
        self.console.print(Text(
            f"[Step {step.step_number}: {step.timing.duration_s or 0:.2f}s"
            + (f" | tokens in {tokens.input_tokens}, out {tokens.output_tokens}" if tokens else "") + "]",
            style="dim"))

    def plan(self, step: PlanningStep) -> None:
        self.console.print(Panel(Text(step.plan), title="plan", title_align="left"))


def _run(args: argparse.Namespace, console: Console) -> int:
    model = build_model(args.model_type, args.model, args.api_base, args.provider)
    progress = Progress(console)
    common: dict[str, Any] = {"max_steps": args.max_steps, "planning_interval": args.planning_interval}
    if args.agent == "code":
        imports = [m for item in args.imports for m in item.split(",") if m]
        agent = CodeAgent([], model, executor=args.executor, executor_token=os.environ.get("SANDCELL_TOKEN"),
                          additional_authorized_imports=imports, on_output=progress.on_output,
                          before_execute=progress.before_execute, **common)
    else:
        agent = ToolCallingAgent([], model, **common)
    final, failed = None, False
    with agent:
        for event in agent.run(args.task, stream=True):
            if isinstance(event, PlanningStep):
                progress.plan(event)
            elif isinstance(event, ActionStep):
                progress.step(event, args.agent == "code")
                failed = isinstance(event.error, AgentMaxStepsError)
            elif isinstance(event, FinalAnswerStep):
                final = event.output
    usage = agent.memory.token_usage()
    console.print(Rule())
    title = "answer after max steps (no final_answer)" if failed else "final answer"
    console.print(Panel(Text(str(final)), title=title, title_align="left",
                        border_style="yellow" if failed else "green"))
    console.print(Text(f"tokens: in {usage.input_tokens}, out {usage.output_tokens}", style="dim"))
    return 1 if failed else 0


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    # The default SIGTERM action skips `with` blocks and atexit: the agent's session would
    # wait for its TTL and an embedded executor would outlive us. SystemExit runs them.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)
    if threading.current_thread() is threading.main_thread():  # only there can handlers be set
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return _run(args, console)
    except (AgentError, SandcellError) as err:
        console.print(Text(f"error: {type(err).__name__}: {err}", style="bold red"))
        return 1
    except KeyboardInterrupt:
        console.print(Text("interrupted", style="bold red"))
        return 130


if __name__ == "__main__":
    sys.exit(main())
