"""Values crossing the sandbox boundary, and how results read to a model. Shared by CodeAgent
and the smolagents adapter."""
from __future__ import annotations

import json
from typing import Any

from sandcell.client import ExecuteResult, Value

from agent.errors import AgentError

__all__ = ["value_of", "jsonable", "variables_code", "describe_failure", "truncate_content",
           "MAX_OBSERVATION_CHARS"]

MAX_OBSERVATION_CHARS = 20_000


def value_of(value: Value | None) -> Any:
    """A sandbox value as a Python object: decoded JSON, else its repr string."""
    if value is None:
        return None
    return value.python() if value.json is not None else value.repr


def jsonable(result: Any) -> Any:
    """A tool result as it goes back into the sandbox: JSON when it is, else its text."""
    try:
        json.dumps(result)
        return result
    except (TypeError, ValueError):
        return str(result)


def variables_code(variables: dict[str, Any], skip_bad_names: bool = False) -> str:
    """Assignments defining JSON-representable variables as Python literals (no pickle)."""
    lines = []
    for name, value in variables.items():
        if not name.isidentifier():
            if skip_bad_names:
                continue
            raise AgentError(f"variable name {name!r} is not a Python identifier")
        try:
            plain = json.loads(json.dumps(value))
        except (TypeError, ValueError) as exc:
            raise AgentError(f"variable {name!r} is not JSON-representable: {exc}") from exc
        lines.append(f"{name} = {plain!r}")
    return "\n".join(lines)


def truncate_content(text: str, max_chars: int = MAX_OBSERVATION_CHARS) -> str:
    """Keeps head and tail: the start says what ran, the end usually says how it ended."""
    if len(text) <= max_chars:
        return text
    half = max_chars // 2
    return (f"{text[:half]}\n..._This content has been truncated to stay below {max_chars} characters_...\n"
            f"{text[-half:]}")


def describe_failure(r: ExecuteResult) -> str:
    """What went wrong, in words a model can act on (line numbers included)."""
    if r.status == "error" and r.error is not None:
        where = f" at line {r.error.line_number}" if r.error.line_number else ""
        text = f"Code execution failed{where} due to: {r.error.type}: {r.error.message}"
        if r.error.traceback:
            text += f"\n{r.error.traceback.rstrip()}"
    else:
        text = r.message or f"Code execution ended with status {r.status!r}."
    # the executor's message already tells about a restore after a kill; say it only once
    if r.restored and "restored" not in text and "empty namespace" not in text:
        text += "\nThe session was restored to its state after the last successful execution."
        if r.lost_names:
            text += f" Lost variables: {', '.join(r.lost_names)}."
    return text
