"""CodeAgent: the model writes Python; each action runs in one executor session."""
from __future__ import annotations

import atexit
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from sandcell.client import ExecuteResult, Limits, Session, SessionNotFound, ToolSpec

from agent.base_agent import MultiStepAgent, refuse_unsupported
from agent.errors import AgentError, AgentExecutionError, AgentToolExecutionError
from agent.executor_conn import ExecutorConnection, executor_choice, open_executor
from agent.memory import ActionStep
from agent.models.base import Model, ToolCall
from agent.parsing import CODE_TAGS, fix_final_answer_code, parse_code_blobs
from agent.prompts import CODE_SYSTEM_PROMPT
from agent.sandbox_values import (MAX_OBSERVATION_CHARS, describe_failure, jsonable, truncate_content, value_of,
                                  variables_code)
from agent.tools import FinalAnswerTool, Tool

__all__ = ["CodeAgent"]

# Agents with an open session, closed at interpreter exit (registered after executor_conn's
# handler, so it runs first, while the connections are still up).
_OPEN: "weakref.WeakSet[CodeAgent]" = weakref.WeakSet()

MARKDOWN_CODE_TAGS = ("```python", "```")

# smolagents CodeAgent keywords sandcell differs on, and what to do instead
_REFUSED = {
    "use_structured_outputs_internally": "code actions are parsed from the model's text; for structured "
                                         "tool calls use ToolCallingAgent",
}
# what executor_kwargs may hold: the session options of this agent's sandcell executor
_EXECUTOR_KWARGS = ("limits", "wall_timeout_ms", "executor_token")


def code_block_tags_of(tags: str | tuple[str, str] | list[str] | None) -> tuple[str, str]:
    """smolagents' `code_block_tags`: None for <code>…</code>, "markdown" for ```python fences,
    or an (opening, closing) pair."""
    if tags is None:
        return CODE_TAGS
    if isinstance(tags, str):
        if tags != "markdown":
            raise ValueError(f"code_block_tags={tags!r}: the only string accepted is 'markdown' "
                             "(or pass an (opening, closing) pair)")
        return MARKDOWN_CODE_TAGS
    if len(tags) != 2 or not all(isinstance(t, str) and t for t in tags):
        raise ValueError(f"code_block_tags must be 'markdown' or a pair of non-empty strings, got {tags!r}")
    return (tags[0], tags[1])


class CodeAgent(MultiStepAgent):
    """Actions are Python code blocks run in a sandboxed executor session.

    `executor`: an ExecutorConnection, or "host:port" of a running executor (with
    `executor_token`), or "docker" (the hardened container, started through the Docker SDK and
    shared by the process's agents), "local" (an embedded executor process), "auto"; None uses
    $SANDCELL_EXECUTOR, else "auto" (agent/executor_conn.py `choose_default`).
    `executor_type`: smolagents' spelling of the same choice ("docker" or "local").
    """

    DEFAULT_SYSTEM_PROMPT = CODE_SYSTEM_PROMPT

    def __init__(self, tools: Sequence[Any], model: Model, *, executor: ExecutorConnection | str | None = None,
                 executor_type: str | None = None, executor_token: str | None = None,
                 additional_authorized_imports: Sequence[str] | None = None,
                 limits: Limits | None = None, wall_timeout_ms: int | None = None,
                 on_output: Callable[[str, str], None] | None = None,
                 before_execute: Callable[[ActionStep], None] | None = None,
                 code_block_tags: str | tuple[str, str] | None = None,
                 executor_kwargs: dict[str, Any] | None = None, max_print_outputs_length: int | None = None,
                 **kwargs: Any):
        refuse_unsupported(type(self).__name__, {k: v for k, v in kwargs.items() if v}, _REFUSED)
        kwargs.pop("use_structured_outputs_internally", None)
        unknown = set(executor_kwargs or {}) - set(_EXECUTOR_KWARGS)
        if unknown:
            raise TypeError(f"executor_kwargs {sorted(unknown)} are not sandcell executor options: it takes "
                            f"{', '.join(_EXECUTOR_KWARGS)} (the sandbox itself is chosen with executor=)")
        ex = dict(executor_kwargs or {})
        limits, wall_timeout_ms = limits or ex.get("limits"), wall_timeout_ms or ex.get("wall_timeout_ms")
        executor_token = executor_token or ex.get("executor_token")
        self.code_block_tags = code_block_tags_of(code_block_tags)
        super().__init__(tools, model, **kwargs)
        self.executor_kwargs = ex
        self.max_print_outputs_length = max_print_outputs_length
        self.logger.code_block_opening_tag = self.code_block_tags[0]
        self.additional_authorized_imports = list(additional_authorized_imports or ())
        # No limits of our own by default: the server's are its operator's choice, and asking for
        # more than its maximum (say a longer idle TTL) would fail every session. A session the
        # agent never closes (it crashed) is reaped after the server's idle TTL.
        self.limits = limits or Limits()
        self.wall_timeout_ms = wall_timeout_ms
        self.on_output = on_output  # (stream, text) as the sandboxed code prints
        self.before_execute = before_execute  # sees the parsed step before its code runs (live UIs)
        self._executor_arg, self._executor_token = executor_choice(executor, executor_type), executor_token
        self.on_executor: Callable[[str], None] | None = None  # hears which executor was chosen (the CLI says it)
        self._conn: ExecutorConnection | None = executor if isinstance(executor, ExecutorConnection) else None
        self._owns_conn = False
        self.session: Session | None = None

    # ---- executor session ----
    def _ensure_session(self) -> Session:
        if self.session is not None:
            return self.session
        if self._conn is None:
            address = self._executor_arg if isinstance(self._executor_arg, str) else None
            self._conn = open_executor(address, self._executor_token, imports=self.additional_authorized_imports,
                                       announce=self.on_executor)
            self._owns_conn = True
        specs = [ToolSpec(t.name, t.description, t.parameters_schema(), t.output_type)
                 for t in self.tools.values() if t.name != "final_answer"]  # a sandbox builtin
        self.session = self._conn.client.create_session(
            limits=self.limits, extra_imports=self.additional_authorized_imports, tools=specs)
        _OPEN.add(self)
        return self.session

    def _tool_handlers(self) -> dict[str, Callable[..., Any]]:
        def handler(tool: Tool) -> Callable[..., Any]:
            # Runs here, in the agent process: the sandbox only sees the JSON result.
            return lambda **kwargs: jsonable(tool(**kwargs))
        return {name: handler(t) for name, t in self.tools.items() if name != "final_answer"}

    def execute(self, code: str) -> tuple[ExecuteResult, str]:
        """Runs code in the agent's session; returns the result and a note for the model
        (non-empty when the session had expired and was recreated)."""
        session, note = self._ensure_session(), ""
        try:
            r = session.execute(code, tools=self._tool_handlers(), on_output=self._output_sink,
                                wall_timeout_ms=self.wall_timeout_ms)
        except SessionNotFound:
            # reaped by idle TTL (or the executor restarted): start over, and say so
            self.session = None
            note = "Note: the sandbox session had expired and was recreated; variables from earlier steps are lost.\n"
            r = self._ensure_session().execute(code, tools=self._tool_handlers(), on_output=self._output_sink,
                                               wall_timeout_ms=self.wall_timeout_ms)
        return r, note

    def _output_sink(self, stream: str, text: str) -> None:
        """Printed output as it streams: to the console (verbosity_level) and the user's hook."""
        self.logger.on_output(stream, text)
        if self.on_output is not None:
            self.on_output(stream, text)

    def send_variables(self, variables: dict[str, Any]) -> None:
        """Defines JSON-representable variables in the session (as Python literals: no pickle)."""
        code = variables_code(variables)
        if code:
            r, _ = self.execute(code)
            if not r.ok:
                raise AgentError(f"could not send variables: {describe_failure(r)}")

    def _prepare_run(self, additional_args: dict[str, Any] | None) -> None:
        self._ensure_session()
        if additional_args:
            self.send_variables(additional_args)

    def _writes_code(self) -> bool:
        return True

    def _template_variables(self) -> dict[str, Any]:
        session = self._ensure_session()
        return {**super()._template_variables(),
                "authorized_imports": ", ".join(sorted(session.info.allowed_imports)) or "(none)",
                "code_block_opening_tag": self.code_block_tags[0], "code_block_closing_tag": self.code_block_tags[1]}

    # ---- one step ----
    def _step(self, step: ActionStep):
        open_tag, close_tag = self.code_block_tags
        stop = ["Observation:", "Calling tools:"] + ([close_tag] if close_tag not in open_tag else [])
        msg = yield from self._call_model(step.step_number, self.memory.to_messages(), stop_sequences=stop)
        step.model_output_message, step.token_usage = msg, msg.token_usage
        text = msg.content or ""
        if open_tag in text and text.count(close_tag) < text.count(open_tag):
            text += close_tag  # the stop sequence ate it; putting it back keeps the next turns well-formed
        step.model_output = text
        code = fix_final_answer_code(parse_code_blobs(text, self.code_block_tags))
        step.code_action = code
        step.tool_calls = [ToolCall("python_interpreter", code, f"call_{step.step_number}")]
        self.logger.before_execute(step)
        if self.before_execute is not None:
            self.before_execute(step)
        r, note = self.execute(code)
        logs = r.stdout + (f"\n[stderr]\n{r.stderr}" if r.stderr else "")
        if self.max_print_outputs_length is not None:
            logs = truncate_content(logs, self.max_print_outputs_length)
        if r.output_truncated:
            logs += "\n(output was truncated at the output limit)"
        observation = note + ("Execution logs:\n" + logs if logs else "")
        if r.ok or r.is_final_answer:
            shown = r.value.repr if r.value is not None else "None"
            observation += ("\n" if logs else "") + "Last output from code snippet:\n" + shown
            step.observations = truncate_content(observation, self._observation_limit())
            step.action_output = value_of(r.value)
            if r.is_final_answer:
                step.action_output = self._apply_final_answer_tool(step.action_output)
            step.is_final_answer = r.is_final_answer
            return
        step.observations = truncate_content(observation, self._observation_limit()) if observation else None
        raise AgentExecutionError(describe_failure(r))

    def _observation_limit(self) -> int:
        return max(MAX_OBSERVATION_CHARS, (self.max_print_outputs_length or 0) + 2_000)

    def _apply_final_answer_tool(self, answer: Any) -> Any:
        """The sandbox's builtin final_answer only ends the execute (so no try/except can
        swallow it); the agent's final_answer tool, which a user may replace to format or check
        answers, then runs here on the value."""
        final_tool = self.tools["final_answer"]
        if type(final_tool) is FinalAnswerTool:
            return answer
        try:
            return final_tool(answer)
        except AgentError:
            raise
        except Exception as exc:  # the user's tool rejected the answer: the model should hear why
            raise AgentToolExecutionError(
                f"The final_answer tool failed on {answer!r}: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            try:
                session.close()
            except Exception:  # executor gone: its TTL reaper (or exit) already freed the session
                pass
        if self._owns_conn and self._conn is not None:
            self._conn.close()
            self._conn, self._owns_conn = None, False


@atexit.register
def _close_open_agents() -> None:
    for agent in list(_OPEN):
        try:
            agent.close()
        except Exception:  # best effort at exit; the idle TTL reaps whatever is left
            pass
