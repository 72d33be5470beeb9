"""Token streaming: deltas as the model produces them, and folding them back into one message.

Names follow smolagents (`ChatMessageStreamDelta`, `agglomerate_stream_deltas`) so code that
consumes smolagents' streams reads ours the same way.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from agent.models.base import ChatMessage, TokenUsage, ToolCall, parse_arguments

__all__ = ["ChatMessageStreamDelta", "ChatMessageToolCallStreamDelta", "agglomerate_stream_deltas",
           "openai_style_deltas", "cut_at_stop_sequences"]


@dataclass(frozen=True)
class ChatMessageToolCallStreamDelta:
    """A piece of one native tool call: `index` says which call; name and arguments arrive in parts."""

    index: int | None = None
    id: str | None = None
    name: str | None = None
    arguments: str | None = None


@dataclass(frozen=True)
class ChatMessageStreamDelta:
    content: str | None = None
    tool_calls: tuple[ChatMessageToolCallStreamDelta, ...] = ()
    token_usage: TokenUsage | None = None


def agglomerate_stream_deltas(deltas: Iterable[ChatMessageStreamDelta], role: str = "assistant") -> ChatMessage:
    """The message that a non-streaming call would have returned."""
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    usage: TokenUsage | None = None
    for d in deltas:
        if d.content:
            text.append(d.content)
        for tc in d.tool_calls:
            slot = calls.setdefault(tc.index or 0, {"id": "", "name": "", "arguments": ""})
            slot["id"] = tc.id or slot["id"]
            slot["name"] += tc.name or ""
            slot["arguments"] += tc.arguments or ""
        if d.token_usage is not None:
            usage = d.token_usage if usage is None else usage + d.token_usage
    tool_calls = tuple(ToolCall(c["name"], parse_arguments(c["arguments"] or "{}"), c["id"] or f"call_{i}")
                       for i, c in sorted(calls.items()))
    return ChatMessage(role, "".join(text) or None, tool_calls, usage)


def openai_style_deltas(chunks: Iterable[Any]) -> Iterator[ChatMessageStreamDelta]:
    """Deltas from OpenAI-shaped stream chunks (openai, litellm and huggingface_hub all use it)."""
    for chunk in chunks:
        usage = getattr(chunk, "usage", None)
        tokens = None
        if usage is not None:
            tokens = TokenUsage(getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0)
        choices = getattr(chunk, "choices", None) or ()
        delta = getattr(choices[0], "delta", None) if choices else None
        content = getattr(delta, "content", None) if delta is not None else None
        calls = []
        for tc in (getattr(delta, "tool_calls", None) or ()) if delta is not None else ():
            fn = getattr(tc, "function", None)
            calls.append(ChatMessageToolCallStreamDelta(
                getattr(tc, "index", None), getattr(tc, "id", None),
                getattr(fn, "name", None) if fn else None, getattr(fn, "arguments", None) if fn else None))
        if content or calls or tokens:
            yield ChatMessageStreamDelta(content or None, tuple(calls), tokens)


def cut_at_stop_sequences(deltas: Iterable[ChatMessageStreamDelta],
                          stop: Sequence[str]) -> Iterator[ChatMessageStreamDelta]:
    """Ends the text at the first stop sequence, for servers that ignore `stop`. Text that could
    be the start of a stop sequence is held back until the next delta tells."""
    stop = [s for s in stop if s]
    if not stop:
        yield from deltas
        return
    hold = max(map(len, stop)) - 1
    pending, stopped = "", False
    for d in deltas:
        out = ""
        if d.content and not stopped:
            pending += d.content
            cut = min((i for s in stop if (i := pending.find(s)) >= 0), default=-1)
            if cut >= 0:
                out, pending, stopped = pending[:cut], "", True
            elif len(pending) > hold:
                out, pending = pending[:len(pending) - hold], pending[len(pending) - hold:]
        if out or d.tool_calls or d.token_usage:
            yield ChatMessageStreamDelta(out or None, d.tool_calls, d.token_usage)
    if pending and not stopped:
        yield ChatMessageStreamDelta(pending)
