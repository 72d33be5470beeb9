"""An executor for smolagents' `CodeAgent(executor=...)`, backed by a sandcell session.

Unlike smolagents' remote executors, tools are not shipped into the sandbox as source: they
stay in this process and the sandboxed code calls them back over the Execute stream, so tool
state, clients and secrets keep working (and managed agents too).

    from smolagents import CodeAgent
    from sandcell.agent.smolagents_adapter import SandcellExecutor
    agent = CodeAgent(tools=[...], model=..., executor=SandcellExecutor(),
                      additional_authorized_imports=["numpy"])

The imports come from the agent: smolagents hands an executor instance nothing of the agent,
but its run() sends the variables and tools from the agent's own method, and the adapter reads
`additional_authorized_imports` from that caller (the agent whose python_executor it is).
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from smolagents.local_python_executor import CodeOutput, PythonExecutor
from sandcell.client import Limits, Session, SessionNotFound, ToolSpec

from agent.errors import AgentExecutionError
from agent.executor_conn import ExecutorConnection, open_executor
from agent.sandbox_values import describe_failure, jsonable, value_of, variables_code
from agent.tools import inputs_schema

__all__ = ["SandcellExecutor"]


class SandcellExecutor(PythonExecutor):
    """`executor`: an ExecutorConnection, "host:port" (with `token`), or None for
    $SANDCELL_EXECUTOR or an embedded local executor."""

    def __init__(self, additional_imports: Sequence[str] = (), logger: Any = None, *,
                 executor: ExecutorConnection | str | None = None, token: str | None = None,
                 limits: Limits | None = None, wall_timeout_ms: int | None = None):
        self.additional_imports = list(additional_imports)
        self.logger = logger
        self.limits = limits or Limits()  # the server's defaults, as for CodeAgent
        self.wall_timeout_ms = wall_timeout_ms
        # Connected on first use: an embedded executor's import ceiling is set when it starts,
        # and the agent's imports are only known once its run() calls us.
        self._executor_arg, self._token = executor, token
        self._conn: ExecutorConnection | None = executor if isinstance(executor, ExecutorConnection) else None
        self._owns_conn = False
        self.tools: dict[str, Any] = {}
        self._final_tool: Any = None
        self._specs: tuple[ToolSpec, ...] = ()
        # Every variable sent so far: smolagents sends variables *before* tools, and a new
        # tool set means a new session, so each new session gets them again.
        self._variables: dict[str, Any] = {}
        self.session: Session | None = None
        # smolagents reads state["_print_outputs"] to show the logs of a failed execution.
        self.state: dict[str, Any] = {}

    def _adopt_agent_imports(self) -> None:
        """Takes additional_authorized_imports from the smolagents agent that is calling us."""
        frame = sys._getframe(2)  # our caller's caller: send_tools/send_variables <- agent.run
        for _ in range(3):
            if frame is None:
                return
            agent = frame.f_locals.get("self")
            if getattr(agent, "python_executor", None) is self:
                wanted = [m for m in getattr(agent, "additional_authorized_imports", None) or []
                          if m not in self.additional_imports]
                if wanted:
                    self.additional_imports += wanted
                    self._close_session()  # a session's imports are fixed when it is created
                    if self._owns_conn and self._conn is not None:  # so is an embedded executor's ceiling
                        self._conn.close()
                        self._conn, self._owns_conn = None, False
                return
            frame = frame.f_back

    def _open(self) -> Session:
        if self._conn is None:
            self._conn = open_executor(self._executor_arg, self._token, imports=self.additional_imports)
            self._owns_conn = True
        if self.session is None:
            self.session = self._conn.client.create_session(
                limits=self.limits, extra_imports=self.additional_imports, tools=list(self._specs))
            self._define(self._variables)
        return self.session

    def _define(self, variables: dict[str, Any]) -> None:
        code = variables_code(variables, skip_bad_names=True)
        if code and self.session is not None:
            r = self.session.execute(code)
            if not r.ok:
                raise AgentExecutionError(f"could not send variables: {describe_failure(r)}")

    def send_tools(self, tools: dict[str, Any]) -> None:
        """Declares the tools (final_answer is a sandbox builtin). Tools are declared when a
        session is created, so a changed tool set starts a new session."""
        self.tools = {n: t for n, t in tools.items() if n != "final_answer"}
        # The sandbox's builtin final_answer ends the execute; a custom final_answer tool
        # (one that formats or checks the answer) then runs here on the value, as it would locally.
        self._final_tool = tools.get("final_answer")
        specs = tuple(ToolSpec(n, getattr(t, "description", ""), inputs_schema(getattr(t, "inputs", {})),
                               getattr(t, "output_type", "any")) for n, t in self.tools.items())
        if specs != self._specs and self.session is not None:
            self._close_session()
        self._specs = specs
        self._open()

    def send_variables(self, variables: dict[str, Any]) -> None:
        """Defines JSON-representable variables as Python literals (never pickle). smolagents'
        state may hold keys like "image.png" that no code can name: those are skipped."""
        self._adopt_agent_imports()
        variables_code(variables, skip_bad_names=True)  # fail here, early, on values JSON cannot carry
        self._variables.update(variables)
        self._define(variables)  # no session yet: _open() defines them

    def _handlers(self) -> dict[str, Any]:
        def call(t: Any):
            return lambda **kwargs: jsonable(t(**kwargs))
        return {n: call(t) for n, t in self.tools.items()}

    def __call__(self, code_action: str) -> CodeOutput:
        try:
            r = self._open().execute(code_action, tools=self._handlers(), wall_timeout_ms=self.wall_timeout_ms)
        except SessionNotFound:
            self.session = None  # reaped by idle TTL: a fresh session, without the old state
            r = self._open().execute(code_action, tools=self._handlers(), wall_timeout_ms=self.wall_timeout_ms)
        logs = r.stdout + (f"\n{r.stderr}" if r.stderr else "")
        self.state["_print_outputs"] = logs
        if r.ok or r.is_final_answer:
            output = value_of(r.value)
            if r.is_final_answer and self._final_tool is not None:
                output = self._final_tool(output)
            return CodeOutput(output=output, logs=logs, is_final_answer=r.is_final_answer)
        raise AgentExecutionError(describe_failure(r))

    def _close_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            try:
                session.close()
            except Exception:  # already gone; the TTL reaper covers the rest
                pass

    def cleanup(self) -> None:
        self._close_session()
        if self._owns_conn and self._conn is not None:
            self._conn.close()
            self._conn, self._owns_conn = None, False

    def __del__(self) -> None:
        # smolagents only calls cleanup() when the agent is used as a context manager
        try:
            self.cleanup()
        except Exception:
            pass
