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
from rich.text import Text
from sandcell.client import ClientTls, SandcellError
from sandcell.container import ContainerError

from agent.code_agent import CodeAgent
from agent.executor_conn import ExecutorConnection
from agent.errors import AgentError, AgentMaxStepsError
from agent.memory import ActionStep, FinalAnswerStep
from agent.models.base import Model
from agent.monitor import AgentLogger, LogLevel
from agent.tool_calling_agent import ToolCallingAgent

__all__ = ["main", "build_model", "build_parser"]

MODEL_TYPES = ("litellm", "openai", "inference", "transformers")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="agent", description="Run a sandcell agent on a task.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run one task and print each step live")
    r.add_argument("task", help="the task, in words")
    _add_agent_options(r)
    u = sub.add_parser("ui", help="serve a web page to run tasks and watch their steps stream")
    _add_agent_options(u)
    u.add_argument("--host", default="127.0.0.1", help="address to serve on (default loopback only)")
    u.add_argument("--port", type=int, default=7860, help="port (default 7860; 0 picks a free one)")
    return p


def _add_agent_options(r: argparse.ArgumentParser) -> None:
    r.add_argument("--model", required=True, help="model id, e.g. gpt-4o-mini or anthropic/claude-sonnet-4-5")
    r.add_argument("--model-type", choices=MODEL_TYPES, default="litellm",
                   help="backend (default litellm); credentials come from the provider's usual variables")
    r.add_argument("--api-base", help="custom endpoint (OpenAI-compatible server, litellm api_base, HF base_url)")
    r.add_argument("--provider", help="Hugging Face inference provider (model type 'inference')")
    r.add_argument("--agent", choices=("code", "tool-calling"), default="code", help="agent kind (default code)")
    r.add_argument("--executor", metavar="HOST:PORT|docker|local|auto", default=os.environ.get("SANDCELL_EXECUTOR"),
                   help="a running executor (its token from $SANDCELL_TOKEN); docker: the hardened container, "
                        "started for this run; local: an embedded executor process; auto (default, or "
                        "$SANDCELL_EXECUTOR): docker when Docker answers and the image is built, else local")
    r.add_argument("--tls-ca", default=os.environ.get("SANDCELL_TLS_CA", ""), metavar="PEM",
                   help="connect to --executor over TLS, trusting this CA (default $SANDCELL_TLS_CA)")
    r.add_argument("--tls-cert", default=os.environ.get("SANDCELL_CLIENT_CERT", ""), metavar="PEM",
                   help="client certificate for a server that requires mTLS (default $SANDCELL_CLIENT_CERT)")
    r.add_argument("--tls-key", default=os.environ.get("SANDCELL_CLIENT_KEY", ""), metavar="PEM",
                   help="key of --tls-cert (default $SANDCELL_CLIENT_KEY)")
    # one value per flag (repeatable): a list-valued flag would swallow the task after it
    r.add_argument("--imports", action="extend", type=_names, default=[], metavar="M1,M2",
                   help="extra modules the code may import, comma-separated, flag repeatable "
                        "(within a running executor's ceiling; an embedded one admits them)")
    r.add_argument("--tools", action="extend", type=_names, default=[], metavar="SPEC,...",
                   help="tools for the agent: module:attr (a Tool instance or class, an @tool function, "
                        "a smolagents tool), a built-in name (web_search, visit_webpage, wikipedia_search, "
                        "python_interpreter), or a Hub repo id (needs --trust-remote-code)")
    r.add_argument("--trust-remote-code", action="store_true",
                   help="allow --tools to load tool code from the Hub into this process")
    r.add_argument("--stream", action="store_true",
                   help="show the model's tokens live as they are generated (stream_outputs)")
    r.add_argument("--max-steps", type=int, default=20)
    r.add_argument("--planning-interval", type=int, default=None)


def _names(value: str) -> list[str]:
    return [n for n in value.replace(" ", ",").split(",") if n]


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


def _build_agent(args: argparse.Namespace, console: Console) -> Any:
    model = build_model(args.model_type, args.model, args.api_base, args.provider)
    from agent.cli_tools import load_tools
    tools = load_tools(args.tools, trust_remote_code=args.trust_remote_code)
    common: dict[str, Any] = {"max_steps": args.max_steps, "planning_interval": args.planning_interval,
                              "stream_outputs": args.stream, "verbosity_level": LogLevel.OFF}
    if args.agent == "code":
        executor: Any = args.executor
        if executor and ":" in executor and (args.tls_ca or args.tls_cert):  # HOST:PORT, not docker/local
            executor = ExecutorConnection.connect(executor, os.environ.get("SANDCELL_TOKEN"),
                                                  ClientTls(args.tls_ca, args.tls_cert, args.tls_key))
        agent = CodeAgent(tools, model, executor=executor, executor_token=os.environ.get("SANDCELL_TOKEN"),
                          additional_authorized_imports=args.imports, **common)
        agent.on_executor = lambda text: console.print(Text(text, style="dim"))
    else:
        agent = ToolCallingAgent(tools, model, **common)
    agent.logger = AgentLogger(LogLevel.INFO, console)  # the agent renders its steps on our console
    agent.logger.code_block_opening_tag = getattr(agent, "code_block_tags", ("<code>",))[0]
    return agent


def _ui(args: argparse.Namespace, console: Console) -> int:
    from agent.web_ui import WebUI

    with _build_agent(args, console) as agent:
        WebUI(agent).launch(server_name=args.host, server_port=args.port)
    return 0


def _run(args: argparse.Namespace, console: Console) -> int:
    agent = _build_agent(args, console)
    final, failed = None, False
    with agent:
        for event in agent.run(args.task, stream=True):
            if isinstance(event, ActionStep):
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
        return _ui(args, console) if args.command == "ui" else _run(args, console)
    except (AgentError, SandcellError, ContainerError) as err:
        console.print(Text(f"error: {type(err).__name__}: {err}", style="bold red"))
        return 1
    except KeyboardInterrupt:
        console.print(Text("interrupted", style="bold red"))
        return 130


if __name__ == "__main__":
    sys.exit(main())
