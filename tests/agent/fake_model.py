"""A scripted model implementing the Model interface: the test seam for loop logic."""
from __future__ import annotations

from typing import Any

from agent.models.base import ChatMessage, Model, TokenUsage, ToolCall


class FakeModel(Model):
    """Answers each generate() with the next scripted item: a string (text), a list of
    (name, arguments) pairs (native tool calls), or an exception to raise."""

    def __init__(self, *replies: Any, native_tools: bool = True):
        super().__init__("fake-model")
        self.replies = list(replies)
        self.calls: list[dict[str, Any]] = []
        self.supports_native_tools = native_tools

    def _generate(self, messages, stop, tools, params) -> ChatMessage:
        self.calls.append({"messages": messages, "stop": stop, "tools": [t.name for t in tools]})
        if not self.replies:
            raise AssertionError("FakeModel script exhausted")
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        usage = TokenUsage(10, 5)
        if isinstance(reply, list):
            return ChatMessage("assistant", None,
                               tuple(ToolCall(n, a, f"call_{i}") for i, (n, a) in enumerate(reply)), usage)
        return ChatMessage("assistant", reply, (), usage)
