"""The model interface: chat messages in; text, native tool calls and token usage out."""
from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from agent.errors import AuthenticationError, ModelError, ModelNotFoundError, RateLimitError

__all__ = ["ChatMessage", "ToolCall", "TokenUsage", "Model", "ApiModel", "RetryPolicy",
           "MessageInput", "apply_stop_sequences", "tool_schema", "classify_error"]

T = TypeVar("T")


@dataclass(frozen=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: "TokenUsage | None") -> "TokenUsage":
        if other is None:
            return self
        return TokenUsage(self.input_tokens + other.input_tokens,
                          self.output_tokens + other.output_tokens)


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for; `arguments` is a dict (decoded when it came as JSON)."""

    name: str
    arguments: Any
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function",
                "function": {"name": self.name, "arguments": self.arguments}}


@dataclass(frozen=True)
class ChatMessage:
    """A chat message. `role` is system, user or assistant."""

    role: str
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    token_usage: TokenUsage | None = None
    raw: Any = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content or ""}


MessageInput = ChatMessage | dict[str, Any]


def _as_dicts(messages: Sequence[MessageInput]) -> list[dict[str, Any]]:
    """Plain {"role", "content"} dicts; consecutive same-role messages are merged because
    several providers reject two user (or assistant) turns in a row."""
    out: list[dict[str, Any]] = []
    for m in messages:
        d = m.to_dict() if isinstance(m, ChatMessage) else {"role": m["role"], "content": m.get("content") or ""}
        if out and out[-1]["role"] == d["role"] and d["role"] != "system":
            out[-1] = {"role": d["role"], "content": out[-1]["content"] + "\n\n" + d["content"]}
        else:
            out.append(d)
    return out


def apply_stop_sequences(text: str, stop: Sequence[str] | None) -> str:
    """Cuts text at the first stop sequence; for backends that ignore `stop`."""
    if not stop or not text:
        return text
    cut = min((i for s in stop if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


def tool_schema(tool) -> dict[str, Any]:
    """The OpenAI `tools=[...]` entry for a Tool."""
    return {"type": "function", "function": {"name": tool.name, "description": tool.description,
                                             "parameters": tool.parameters_schema()}}


def parse_arguments(raw: Any) -> Any:
    """Tool-call arguments arrive as a JSON string from most APIs; decode when possible."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw if raw is not None else {}


class Model:
    """Base of every backend. Subclasses implement `_generate`."""

    # Whether the backend can receive `tools=` and return native tool calls.
    supports_native_tools: bool = True

    def __init__(self, model_id: str, **kwargs: Any):
        self.model_id = model_id
        # Extra per-call parameters (temperature, max_tokens, ...) sent with every request.
        self.kwargs = kwargs

    def generate(self, messages: Sequence[MessageInput], *, stop_sequences: Sequence[str] | None = None,
                 tools: Sequence[Any] | None = None, tools_to_call_from: Sequence[Any] | None = None,
                 **kwargs: Any) -> ChatMessage:
        """`tools_to_call_from` is smolagents' name for `tools`; other kwargs go into the request."""
        msg = self._generate(_as_dicts(messages), list(stop_sequences or []),
                             list(tools or tools_to_call_from or []), {**self.kwargs, **kwargs})
        # Some servers ignore `stop`; cutting client-side keeps the loop's assumptions true.
        if msg.content and stop_sequences:
            cut = apply_stop_sequences(msg.content, stop_sequences)
            if cut != msg.content:
                msg = ChatMessage(msg.role, cut, msg.tool_calls, msg.token_usage, msg.raw)
        return msg

    __call__ = generate

    def _generate(self, messages: list[dict[str, Any]], stop: list[str], tools: list[Any],
                  params: dict[str, Any]) -> ChatMessage:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model_id!r})"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for 429 and 5xx responses."""

    max_attempts: int = 4
    base_delay_s: float = 2.0
    max_delay_s: float = 60.0
    multiplier: float = 2.0
    # A server's Retry-After is honoured up to this; a longer one is not worth blocking a run for.
    max_retry_after_s: float = 120.0

    def delay(self, attempt: int) -> float:
        d = min(self.max_delay_s, self.base_delay_s * self.multiplier ** (attempt - 1))
        return d * (0.75 + random.random() / 2)


def _status_of(exc: BaseException) -> int | None:
    for obj in (exc, getattr(exc, "response", None)):
        code = getattr(obj, "status_code", None)
        if isinstance(code, int):
            return code
    return None


def _retry_after_s(exc: BaseException) -> float | None:
    """The server's Retry-After (seconds form), when the exception carries the HTTP response."""
    for obj in (exc, getattr(exc, "response", None)):
        headers = getattr(obj, "headers", None)
        if headers is None:
            continue
        try:
            raw = headers.get("retry-after") or headers.get("Retry-After")
            return max(0.0, float(raw)) if raw is not None else None
        except (TypeError, ValueError, AttributeError):  # an HTTP-date, or headers of an odd type
            return None
    return None


def classify_error(exc: BaseException, model_id: str) -> ModelError:
    """Maps a backend's exception to our tree, by HTTP status when it has one."""
    if isinstance(exc, ModelError):
        return exc
    status = _status_of(exc)
    text = f"{type(exc).__name__}: {exc}"
    if status in (401, 403):
        return AuthenticationError(
            f"the provider rejected the credentials for model {model_id!r} (HTTP {status}); "
            f"check the API key environment variable. {text}", status_code=status)
    if status == 404:
        return ModelNotFoundError(f"model {model_id!r} was not found by the provider (HTTP 404). {text}",
                                  status_code=status)
    if status == 429:
        return RateLimitError(f"rate limited by the provider for model {model_id!r}. {text}",
                              status_code=status)
    return ModelError(f"model call failed for {model_id!r}: {text}", status_code=status)


def _retryable(err: ModelError, exc: BaseException) -> bool:
    if err.status_code is not None:
        return err.status_code == 429 or err.status_code >= 500
    # no HTTP status: retry transport failures (connection reset, timeout), not bugs
    name = type(exc).__name__
    return isinstance(exc, (ConnectionError, TimeoutError)) or "Connection" in name or "Timeout" in name


class ApiModel(Model):
    """A backend that calls an HTTP API: adds retries with backoff and error classification."""

    def __init__(self, model_id: str, *, retry: RetryPolicy | None = None, tool_choice: str | None = "required",
                 **kwargs: Any):
        super().__init__(model_id, **kwargs)
        self.retry = retry or RetryPolicy()
        # "required": an agent step must act; None lets servers that reject the field work
        self.tool_choice = tool_choice

    def _chat_request(self, messages: list[dict[str, Any]], stop: list[str], tools: list[Any],
                      params: dict[str, Any]) -> dict[str, Any]:
        """The OpenAI-shaped chat-completions payload that all three API backends take."""
        req: dict[str, Any] = {"model": self.model_id, "messages": messages, **params}
        if stop:
            req["stop"] = stop
        if tools:
            req["tools"] = [tool_schema(t) for t in tools]
            if self.tool_choice:
                req["tool_choice"] = self.tool_choice
        return req

    def _with_retries(self, call: Callable[[], T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except Exception as exc:  # every backend raises its own types; classify_error maps them
                err = classify_error(exc, self.model_id)
                if not _retryable(err, exc) or attempt >= self.retry.max_attempts:
                    raise err from exc
                # The server knows best how long to wait (within our own bound).
                told = min(_retry_after_s(exc) or 0.0, self.retry.max_retry_after_s)
                time.sleep(max(self.retry.delay(attempt), told))


def openai_style_message(message: Any, usage: Any, raw: Any) -> ChatMessage:
    """Builds a ChatMessage from an OpenAI-shaped response message (openai, litellm, HF)."""
    calls = []
    for i, tc in enumerate(getattr(message, "tool_calls", None) or ()):
        fn = tc.function
        calls.append(ToolCall(fn.name, parse_arguments(fn.arguments), getattr(tc, "id", None) or f"call_{i}"))
    tokens = None
    if usage is not None:
        tokens = TokenUsage(getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0)
    return ChatMessage("assistant", getattr(message, "content", None), tuple(calls), tokens, raw)
