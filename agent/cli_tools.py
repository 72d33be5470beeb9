"""Resolving the CLI's `--tools` specs into tools: module:attr, built-in names, Hub repo ids."""
from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from typing import Any

from agent.errors import AgentError
from agent.tools import Tool, as_tool

__all__ = ["load_tools", "ToolSpecError"]


class ToolSpecError(AgentError):
    """A --tools entry that names no loadable tool."""


def _builtin(name: str) -> Tool | None:
    from agent import default_tools
    cls = default_tools.TOOL_MAPPING.get(name)
    return cls() if cls is not None else None


def _from_module(spec: str) -> list[Tool]:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ToolSpecError(f"--tools {spec}: cannot import module {module_name!r}: {exc}") from exc
    try:
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise ToolSpecError(f"--tools {spec}: module {module_name!r} has no {attr!r}") from exc
    if inspect.isclass(obj):
        obj = obj()  # a Tool subclass (ours or smolagents')
    items = obj if isinstance(obj, (list, tuple)) else [obj]
    try:
        return [as_tool(o) for o in items]
    except TypeError as exc:
        raise ToolSpecError(f"--tools {spec}: {exc}") from exc


def load_tools(specs: Sequence[str], *, trust_remote_code: bool = False) -> list[Tool]:
    tools: list[Tool] = []
    for spec in specs:
        if ":" in spec:
            tools += _from_module(spec)
        elif (builtin := _builtin(spec)) is not None:
            tools.append(builtin)
        elif "/" in spec:
            if not trust_remote_code:
                raise ToolSpecError(f"--tools {spec}: loading a tool from the Hub runs its code in this process; "
                                    "pass --trust-remote-code if you trust that repository")
            from agent.hub import load_tool
            tools.append(load_tool(spec, trust_remote_code=True))
        else:
            raise ToolSpecError(f"--tools {spec}: expected module:attr, a built-in tool name, or a Hub repo id "
                                "(user/name)")
    return tools
