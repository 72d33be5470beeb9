"""LangChain tools (langchain-core's BaseTool) as sandcell tools: Tool.from_langchain."""
from __future__ import annotations

from typing import Any

from agent.tools import Tool, input_from_json_schema

__all__ = ["from_langchain"]


class _LangChainTool(Tool):
    def __init__(self, lc_tool: Any):
        self.langchain_tool = lc_tool
        self.name = lc_tool.name
        self.description = lc_tool.description
        schema = lc_tool.get_input_schema().model_json_schema() if hasattr(lc_tool, "get_input_schema") else {}
        required = set(schema.get("required", lc_tool.args.keys()))
        self.inputs = {k: input_from_json_schema(v, k in required) for k, v in lc_tool.args.items()}
        self.output_type = "string"

    def _check_definition(self) -> None:  # forward takes **kwargs; the schema came from LangChain
        pass

    def forward(self, **kwargs: Any) -> Any:
        result = self.langchain_tool.invoke({k: v for k, v in kwargs.items() if v is not None})
        return result if isinstance(result, str) else str(result)


def from_langchain(lc_tool: Any) -> Tool:
    try:
        import langchain_core.tools  # noqa: F401
    except ImportError as exc:
        raise ImportError("Tool.from_langchain needs langchain-core: pip install langchain-core") from exc
    return _LangChainTool(lc_tool)
