"""Sharing tools as code: Tool.to_dict/from_dict/save, and through the Hugging Face Hub
(push_to_hub, from_hub, load_tool, ToolCollection.from_hub), in smolagents' layout: a Space
holding `tool.py` and `requirements.txt`.

Loading runs the tool's code in *this* (the agent's) process, never in the sandbox: tools are
trusted code with the agent's privileges. So, as in smolagents, it takes trust_remote_code=True.
Both our tool files (`from sandcell.agent import Tool`) and smolagents' (`from smolagents import
Tool`) load.
"""
from __future__ import annotations

import ast
import inspect
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

from agent.errors import AgentError
from agent.tools import Tool, as_tool

__all__ = ["tool_to_dict", "tool_from_code", "save_tool", "push_tool_to_hub", "tool_from_hub", "load_tool",
           "ToolCollection", "ToolLoadError"]

_HEADER = "from typing import Any, Optional\n\nfrom sandcell.agent import Tool, tool\n\n\n"


class ToolLoadError(AgentError):
    """Tool code that cannot be saved or loaded (no Tool in it, not self-contained, untrusted)."""


def _tool_code(t: Tool) -> str:
    fn = getattr(t, "__wrapped__", None)
    if fn is not None:  # made by @tool: the function, decorated again when loaded
        lines = textwrap.dedent(inspect.getsource(fn)).splitlines()
        while lines and lines[0].lstrip().startswith("@"):  # @tool, @agent.tool, @sandcell.agent.tool ...
            lines.pop(0)
        return _HEADER + "@tool\n" + "\n".join(lines) + "\n"
    cls = type(t)
    if cls.__module__ == "agent.tools" and cls.__name__ == "_ForeignTool":
        raise ToolLoadError(f"{t.name!r} wraps a tool from another library: save it with that library")
    init = cls.__dict__.get("__init__")
    if init is not None:
        required = [p for p in list(inspect.signature(init).parameters.values())[1:]
                    if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if required:
            raise ToolLoadError(f"tool class {cls.__name__} takes constructor arguments "
                                f"({', '.join(p.name for p in required)}): a shared tool must be buildable as "
                                f"{cls.__name__}(); give them defaults")
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError) as exc:
        raise ToolLoadError(f"the source of {cls.__name__} is not available (defined interactively?)") from exc
    return _HEADER + source


def _free_names(code: str) -> set[str]:
    """Names the code reads but never defines, imports or gets from builtins: what it would
    miss once it is loaded on its own, away from the module it was written in."""
    import builtins

    tree = ast.parse(code)
    defined = set(dir(builtins))
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            defined.add(node.name)
    return read - defined


def _requirements(code: str) -> list[str]:
    found = {"sandcell"}
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return sorted(n for n in found if n not in sys.stdlib_module_names and n != "agent")


def tool_to_dict(t: Tool) -> dict[str, Any]:
    """{"name", "code", "requirements"}, as smolagents writes it."""
    code = _tool_code(t)
    missing = _free_names(code)
    if missing:
        raise ToolLoadError(f"tool {t.name!r} is not self-contained: it uses {', '.join(sorted(missing))} from its "
                            "module; import or define them inside the tool (e.g. in forward) so it can be shared")
    tool_from_code(code)  # what we hand out must load again: fail here, not at the receiver
    return {"name": t.name, "code": code, "requirements": _requirements(code)}


def tool_from_code(code: str, **kwargs: Any) -> Tool:
    """Runs tool code in a fresh module of this process and returns its tool (an instance made
    by @tool, or the Tool subclass defined there, built with kwargs)."""
    module = types.ModuleType("sandcell_loaded_tool")
    try:
        exec(compile(code, "<tool code>", "exec"), module.__dict__)
    except Exception as exc:
        raise ToolLoadError(f"the tool code failed to run: {type(exc).__name__}: {exc}") from exc
    members = list(module.__dict__.values())
    for obj in members:  # an @tool function's instance
        if isinstance(obj, Tool) and type(obj).__module__ == "sandcell_loaded_tool":
            return obj
    for obj in members:
        if inspect.isclass(obj) and obj.__module__ == "sandcell_loaded_tool" and hasattr(obj, "forward") \
                and all(hasattr(obj, a) for a in ("name", "description", "inputs", "output_type")):
            return as_tool(obj(**kwargs))
    for obj in members:  # smolagents' @tool instances in their own files
        if hasattr(obj, "forward") and not inspect.isclass(obj) and hasattr(obj, "inputs"):
            return as_tool(obj)
    raise ToolLoadError("no Tool subclass or @tool function found in the tool code")


def save_tool(t: Tool, output_dir: str | Path, tool_file_name: str = "tool") -> None:
    """Writes `<tool_file_name>.py` and `requirements.txt` into output_dir."""
    d = tool_to_dict(t)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{tool_file_name}.py").write_text(d["code"], encoding="utf-8")
    (out / "requirements.txt").write_text("\n".join(d["requirements"]) + "\n", encoding="utf-8")


def push_tool_to_hub(t: Tool, repo_id: str, commit_message: str = "Upload tool", private: bool | None = None,
                     token: str | bool | None = None, create_pr: bool = False) -> Any:
    """Creates (or reuses) the Space `repo_id` and commits tool.py, requirements.txt and a README
    tagged like smolagents' tools. Returns huggingface_hub's CommitInfo."""
    from huggingface_hub import CommitOperationAdd, create_commit, create_repo

    d = tool_to_dict(t)
    repo = create_repo(repo_id, token=token, private=private, exist_ok=True, repo_type="space", space_sdk="gradio")
    readme = (f"---\ntitle: {t.name}\nsdk: gradio\ntags:\n- smolagents\n- sandcell\n- tool\n---\n\n"
              f"{t.description}\n")
    ops = [CommitOperationAdd("tool.py", d["code"].encode()),
           CommitOperationAdd("requirements.txt", ("\n".join(d["requirements"]) + "\n").encode()),
           CommitOperationAdd("README.md", readme.encode())]
    return create_commit(repo.repo_id, ops, commit_message=commit_message, token=token, create_pr=create_pr,
                         repo_type="space")


def _require_trust(trust_remote_code: bool, what: str) -> None:
    if not trust_remote_code:
        raise ToolLoadError(f"loading {what} runs its code in this process (with your credentials and network); "
                            "inspect it, then pass trust_remote_code=True")


def tool_from_hub(repo_id: str, token: str | None = None, trust_remote_code: bool = False, **kwargs: Any) -> Tool:
    """Downloads tool.py from the Space repo_id and loads it. Hub arguments (revision,
    cache_dir, force_download, local_files_only) go to the download; the rest to the tool."""
    from huggingface_hub import hf_hub_download

    _require_trust(trust_remote_code, f"the tool {repo_id!r} from the Hub")
    hub_keys = ("revision", "cache_dir", "force_download", "local_files_only", "subfolder")
    hub = {k: kwargs.pop(k) for k in hub_keys if k in kwargs}
    path = hf_hub_download(repo_id, "tool.py", repo_type="space", token=token, **hub)
    return tool_from_code(Path(path).read_text(encoding="utf-8"), **kwargs)


def load_tool(repo_id: str, model_repo_id: str | None = None, token: str | None = None,
              trust_remote_code: bool = False, **kwargs: Any) -> Tool:
    """smolagents' load_tool: a tool from the Hub (model_repo_id, for pipeline tools, is not
    supported: sandcell has no transformers pipeline tools)."""
    if model_repo_id is not None:
        raise TypeError("load_tool(model_repo_id=...) is for transformers pipeline tools, which sandcell does "
                        "not have: load the tool, then give it its model yourself")
    return tool_from_hub(repo_id, token=token, trust_remote_code=trust_remote_code, **kwargs)


class ToolCollection:
    """Several tools loaded together: from a Hub collection of tool Spaces, or from an MCP server."""

    def __init__(self, tools: list[Tool]):
        self.tools = tools

    @classmethod
    def from_hub(cls, collection_slug: str, token: str | None = None,
                 trust_remote_code: bool = False) -> "ToolCollection":
        from huggingface_hub import get_collection

        _require_trust(trust_remote_code, f"the tools of collection {collection_slug!r}")
        collection = get_collection(collection_slug, token=token)
        spaces = {item.item_id for item in collection.items if item.item_type == "space"}
        return cls([tool_from_hub(s, token=token, trust_remote_code=True) for s in sorted(spaces)])

    @classmethod
    def from_mcp(cls, server_parameters: Any, trust_remote_code: bool = False, structured_output: bool | None = None):
        """A context manager yielding the MCP server's tools as a ToolCollection."""
        from agent.mcp_client import tool_collection_from_mcp
        return tool_collection_from_mcp(cls, server_parameters, trust_remote_code=trust_remote_code,
                                        structured_output=structured_output)
