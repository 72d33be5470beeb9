"""Tools: `Tool` subclasses and the `@tool` decorator. Tools always run in the agent process."""
from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from agent.errors import AgentToolCallError

__all__ = ["Tool", "tool", "FinalAnswerTool", "validate_arguments", "inputs_schema", "AUTHORIZED_TYPES", "as_tool",
           "input_from_json_schema"]

# smolagents' list: JSON's types, plus image and audio (objects that only live in this process)
AUTHORIZED_TYPES = ("string", "boolean", "integer", "number", "image", "audio", "array", "object", "any", "null")
_PY_NAMES = {"string": "str", "boolean": "bool", "integer": "int", "number": "float", "array": "list",
             "object": "dict", "any": "Any", "null": "None", "image": "Any", "audio": "Any"}
_JSON_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    # an int is a fine number, as in JSON Schema
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "array": lambda v: isinstance(v, (list, tuple)),
    "object": lambda v: isinstance(v, dict),
    "any": lambda v: True,
    "null": lambda v: v is None,
    "image": lambda v: True,
    "audio": lambda v: True,
}


class Tool:
    """Subclass with class attributes `name`, `description`, `inputs`
    ({arg: {"type", "description", ["nullable"]}}), `output_type`, and a `forward` method."""

    name: str
    description: str
    inputs: dict[str, dict[str, Any]]
    output_type: str

    def __init__(self) -> None:
        self._check_definition()

    def _check_definition(self) -> None:
        for attr in ("name", "description", "inputs", "output_type"):
            if not hasattr(self, attr):
                raise TypeError(f"{type(self).__name__} must define `{attr}`")
        if not self.name.isidentifier():
            raise ValueError(f"tool name {self.name!r} must be a valid Python identifier")
        for arg, spec in self.inputs.items():
            types_ = spec.get("type")
            for t in types_ if isinstance(types_, list) else [types_]:
                if t not in AUTHORIZED_TYPES:
                    raise ValueError(f"tool {self.name!r}: input {arg!r} has type {t!r}; "
                                     f"allowed: {', '.join(AUTHORIZED_TYPES)}")
            if "description" not in spec:
                raise ValueError(f"tool {self.name!r}: input {arg!r} needs a description")
        if self.output_type not in AUTHORIZED_TYPES:
            raise ValueError(f"tool {self.name!r}: output_type {self.output_type!r} is not allowed")
        params = [p for p in inspect.signature(self.forward).parameters.values()
                  if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if {p.name for p in params} != set(self.inputs):
            raise ValueError(f"tool {self.name!r}: forward() parameters {[p.name for p in params]} "
                             f"must match inputs {list(self.inputs)}")

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Positional arguments are matched to `inputs` in order; then arguments are validated."""
        names = list(self.inputs)
        if len(args) > len(names):
            raise AgentToolCallError(f"tool {self.name!r} takes {len(names)} arguments, got {len(args)}")
        for name, value in zip(names, args):
            if name in kwargs:
                raise AgentToolCallError(f"tool {self.name!r} got two values for {name!r}")
            kwargs[name] = value
        validate_arguments(self, kwargs)
        return self.forward(**kwargs)

    # ---- descriptions for prompts and APIs ----
    def parameters_schema(self) -> dict[str, Any]:
        """JSON Schema of the arguments (what APIs and the executor's ToolSpec expect)."""
        return inputs_schema(self.inputs)

    def to_code_prompt(self) -> str:
        """The tool rendered as a Python stub, as CodeAgent's system prompt shows it."""
        args = ", ".join(f"{a}: {_py_type(s)}" for a, s in self.inputs.items())
        doc = self.description.strip()
        if self.inputs:
            doc += "\n\n    Args:\n" + "\n".join(f"        {a}: {s['description']}" for a, s in self.inputs.items())
        return f'def {self.name}({args}) -> {_PY_NAMES[self.output_type]}:\n    """{doc}\n    """'

    def to_tool_calling_prompt(self) -> str:
        return (f"- {self.name}: {self.description.strip()}\n    Takes inputs: {json.dumps(self.inputs)}\n"
                f"    Returns an output of type: {self.output_type}")

    def __repr__(self) -> str:
        return f"<Tool {self.name}>"

    # ---- sharing as code (agent.hub does the work) ----
    def to_dict(self) -> dict[str, Any]:
        """{"name", "code", "requirements"}: the tool as self-contained source, as smolagents has it."""
        from agent.hub import tool_to_dict
        return tool_to_dict(self)

    @classmethod
    def from_dict(cls, tool_dict: dict[str, Any], **kwargs: Any) -> "Tool":
        if "code" not in tool_dict:
            raise ValueError("a tool dict needs a 'code' key with the tool's source")
        return cls.from_code(tool_dict["code"], **kwargs)

    @classmethod
    def from_code(cls, tool_code: str, **kwargs: Any) -> "Tool":
        """Runs the code *in this process* and returns the tool it defines."""
        from agent.hub import tool_from_code
        return tool_from_code(tool_code, **kwargs)

    def save(self, output_dir: Any, tool_file_name: str = "tool", make_gradio_app: bool = False) -> None:
        """Writes tool.py and requirements.txt (there is no Gradio demo app to write here)."""
        from agent.hub import save_tool
        save_tool(self, output_dir, tool_file_name)

    def push_to_hub(self, repo_id: str, commit_message: str = "Upload tool", private: bool | None = None,
                    token: Any = None, create_pr: bool = False) -> Any:
        from agent.hub import push_tool_to_hub
        return push_tool_to_hub(self, repo_id, commit_message, private, token, create_pr)

    @classmethod
    def from_hub(cls, repo_id: str, token: str | None = None, trust_remote_code: bool = False,
                 **kwargs: Any) -> "Tool":
        from agent.hub import tool_from_hub
        return tool_from_hub(repo_id, token=token, trust_remote_code=trust_remote_code, **kwargs)

    @classmethod
    def from_space(cls, space_id: str, name: str, description: str, api_name: str | None = None,
                   token: str | None = None) -> "Tool":
        """Not offered: a Space tool calls a remote Gradio app through gradio_client, which
        sandcell does not depend on."""
        raise TypeError("Tool.from_space is not supported by sandcell: write a small Tool whose forward() calls "
                        "the Space with gradio_client.Client(space_id).predict(...), or load the Space's tool "
                        "code with Tool.from_hub(..., trust_remote_code=True)")

    @staticmethod
    def from_langchain(langchain_tool: Any) -> "Tool":
        """A LangChain tool (langchain-core's BaseTool) as one of ours."""
        from agent.langchain_tools import from_langchain
        return from_langchain(langchain_tool)


def inputs_schema(inputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """JSON Schema for a smolagents-style `inputs` mapping; types JSON lacks (image, audio) stay open."""
    props: dict[str, Any] = {}
    for arg, spec in inputs.items():
        p: dict[str, Any] = {"description": spec.get("description", "")}
        t = spec.get("type")
        if isinstance(t, str) and t in _JSON_CHECKS and t not in ("any", "image", "audio"):
            p["type"] = [t, "null"] if spec.get("nullable") else t
        props[arg] = p
    required = [a for a, s in inputs.items() if not s.get("nullable")]
    return {"type": "object", "properties": props, "required": required}


def input_from_json_schema(prop: dict[str, Any], required: bool) -> dict[str, Any]:
    """One `inputs` entry from a JSON Schema property (MCP and LangChain describe tools so);
    an optional or null-admitting property becomes nullable, unknown types "any"."""
    t = prop.get("type")
    alternatives = t if isinstance(t, list) else [p.get("type") for p in prop.get("anyOf", [])] if t is None else [t]
    kinds = [k for k in alternatives if k != "null"]
    required = required and len(kinds) == len(alternatives)
    t = kinds[0] if len(kinds) == 1 else "any"
    spec = {"type": t if t in AUTHORIZED_TYPES else "any",
            "description": prop.get("description") or prop.get("title") or ""}
    if not required:
        spec["nullable"] = True
    return spec


def _py_type(spec: dict[str, Any]) -> str:
    t = _PY_NAMES.get(spec["type"], "Any") if isinstance(spec["type"], str) else "Any"
    return f"{t} | None" if spec.get("nullable") and t != "Any" else t


def validate_arguments(tool: Tool, arguments: Any) -> None:
    """Raises AgentToolCallError (a message the model can act on) for bad arguments."""
    if not isinstance(arguments, dict):
        raise AgentToolCallError(f"tool {tool.name!r} expects a JSON object of arguments, got {arguments!r}")
    unknown = set(arguments) - set(tool.inputs)
    if unknown:
        raise AgentToolCallError(f"tool {tool.name!r} got unknown arguments {sorted(unknown)}; "
                                 f"it takes {list(tool.inputs)}")
    for name, spec in tool.inputs.items():
        if name not in arguments:
            if not spec.get("nullable"):
                raise AgentToolCallError(f"tool {tool.name!r} is missing required argument {name!r}")
            continue
        value, t = arguments[name], spec["type"]
        if value is None and spec.get("nullable"):
            continue
        allowed = t if isinstance(t, list) else [t]
        if not any(_JSON_CHECKS[x](value) for x in allowed):
            raise AgentToolCallError(f"tool {tool.name!r}: argument {name!r} should be of type {t}, "
                                     f"got {type(value).__name__} {value!r}")


class FinalAnswerTool(Tool):
    name = "final_answer"
    description = "Provides a final answer to the given problem."
    inputs = {"answer": {"type": "any", "description": "The final answer to the problem"}}
    output_type = "any"

    def forward(self, answer: Any) -> Any:
        return answer


# ---- @tool ----
_HINT_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean",
                               list: "array", tuple: "array", dict: "object", Any: "any", type(None): "null"}


def _json_type(hint: Any) -> tuple[str, bool]:
    """(json type, nullable) for a type hint."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(hint))
        if len(args) == 1:
            return _json_type(args[0])[0], nullable
        return "any", nullable
    if origin is not None:
        hint = origin  # list[int] -> list
    try:
        return _HINT_TYPES[hint], False
    except (KeyError, TypeError):
        raise TypeError(f"unsupported type hint {hint!r} for a tool") from None


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Google style: the description, then `Args:` with `name: text` (continuations indented)."""
    doc = inspect.cleandoc(doc)
    parts = re.split(r"^\s*Args:\s*$", doc, maxsplit=1, flags=re.M)
    description = parts[0].strip()
    args: dict[str, str] = {}
    if len(parts) > 1:
        block = re.split(r"^\s*(Returns|Raises|Yields|Examples?):\s*$", parts[1], maxsplit=1, flags=re.M)[0]
        current = None
        for line in block.splitlines():
            m = re.match(r"^\s*(\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", line)
            if m:
                current = m.group(1)
                args[current] = m.group(3).strip()
            elif current and line.strip():
                args[current] += " " + line.strip()
    return description, args


def tool(fn: Callable[..., Any]) -> Tool:
    """Turns a typed function with a Google-style docstring into a Tool instance."""
    if not fn.__doc__:
        raise TypeError(f"@tool function {fn.__name__!r} needs a docstring describing it and its Args")
    description, arg_docs = _parse_docstring(fn.__doc__)
    hints = typing.get_type_hints(fn)
    sig = inspect.signature(fn)
    if "return" not in hints:
        raise TypeError(f"@tool function {fn.__name__!r} needs a return type hint")
    inputs: dict[str, dict[str, Any]] = {}
    for p in sig.parameters.values():
        if p.name not in hints:
            raise TypeError(f"@tool function {fn.__name__!r}: parameter {p.name!r} needs a type hint")
        if p.name not in arg_docs:
            raise TypeError(f"@tool function {fn.__name__!r}: parameter {p.name!r} is not described "
                            "in the docstring's Args section")
        jtype, nullable = _json_type(hints[p.name])
        spec: dict[str, Any] = {"type": jtype, "description": arg_docs[p.name]}
        if nullable or p.default is not inspect.Parameter.empty:
            spec["nullable"] = True
        inputs[p.name] = spec
    output_type = _json_type(hints["return"])[0]

    def forward(self, **kwargs: Any) -> Any:
        return fn(**kwargs)

    # forward's signature mirrors fn's so Tool's definition check sees matching parameters.
    forward.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
         *[p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in sig.parameters.values()]])
    cls = type(f"{fn.__name__}_Tool", (Tool,), {
        "name": fn.__name__, "description": description, "inputs": inputs,
        "output_type": output_type, "forward": forward, "__doc__": fn.__doc__,
        "__module__": fn.__module__})
    instance = cls()
    instance.__wrapped__ = fn  # type: ignore[attr-defined]
    return instance


class _ForeignTool(Tool):
    """A tool object from another library (smolagents' Tool and @tool, anything shaped like
    them), used as one of ours. Calls go to the object itself, so its own setup and argument
    handling still run."""

    def __init__(self, obj: Any):
        self.wrapped = obj
        self.name = obj.name
        self.description = obj.description
        self.inputs = {k: dict(v) for k, v in obj.inputs.items()}
        self.output_type = obj.output_type
        self._check_definition()

    def _check_definition(self) -> None:
        # the wrapped object's forward() has its own signature; ours takes **kwargs
        for attr in ("name", "description", "inputs", "output_type"):
            if not getattr(self, attr, None) and attr != "inputs":
                raise TypeError(f"tool {self.wrapped!r} has no `{attr}`")
        if not str(self.name).isidentifier():
            raise ValueError(f"tool name {self.name!r} must be a valid Python identifier")

    def forward(self, **kwargs: Any) -> Any:
        return self.wrapped(**kwargs)

    def __repr__(self) -> str:
        return f"<Tool {self.name} wrapping {type(self.wrapped).__module__}.{type(self.wrapped).__name__}>"


def as_tool(obj: Any) -> Tool:
    """Ours as is; smolagents' Tool/@tool objects (or any object with name, description, inputs
    and output_type that can be called) wrapped; LangChain tools through Tool.from_langchain."""
    if isinstance(obj, Tool):
        return obj
    if all(hasattr(obj, a) for a in ("name", "description", "inputs", "output_type")) and callable(obj):
        return _ForeignTool(obj)
    if type(obj).__module__.startswith("langchain") or hasattr(obj, "args_schema"):
        return Tool.from_langchain(obj)
    if callable(obj) and getattr(obj, "__doc__", None):
        raise TypeError(f"{obj!r} is a plain function: decorate it with @tool to use it as a tool")
    raise TypeError(f"{obj!r} is not a tool: pass Tool subclass instances, @tool functions, or smolagents tools")
