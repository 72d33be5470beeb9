"""The model interface: chat messages in; text, native tool calls and token usage out."""
from __future__ import annotations

import base64
import io
import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from agent.errors import AuthenticationError, ModelError, ModelNotFoundError, RateLimitError

__all__ = ["ChatMessage", "ToolCall", "TokenUsage", "Model", "ApiModel", "RetryPolicy",
           "MessageInput", "apply_stop_sequences", "tool_schema", "classify_error", "image_url"]

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
    # images shown with this (user) message: PIL images, PNG/JPEG bytes, or data:/http(s) URLs
    images: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        if not self.images:
            return {"role": self.role, "content": self.content or ""}
        parts: list[dict[str, Any]] = [{"type": "text", "text": self.content or ""}]
        parts += [{"type": "image_url", "image_url": {"url": image_url(img)}} for img in self.images]
        return {"role": self.role, "content": parts}


def image_url(image: Any) -> str:
    """An image as the URL the chat APIs take: a data: URL unless it already is a URL."""
    if isinstance(image, str):
        if image.startswith(("data:", "http://", "https://")):
            return image
        raise TypeError(f"an image must be a PIL image, bytes or a data:/http(s) URL, not the string {image[:40]!r}")
    if isinstance(image, (bytes, bytearray)):
        data, mime = bytes(image), "image/jpeg" if bytes(image[:3]) == b"\xff\xd8\xff" else "image/png"
    elif hasattr(image, "save"):  # a PIL image
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        data, mime = buf.getvalue(), "image/png"
    else:
        raise TypeError(f"an image must be a PIL image, bytes or a data:/http(s) URL, not {type(image).__name__}")
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _as_parts(content: Any) -> list[dict[str, Any]]:
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


MessageInput = ChatMessage | dict[str, Any]


def _as_dicts(messages: Sequence[MessageInput]) -> list[dict[str, Any]]:
    """Plain {"role", "content"} dicts; consecutive same-role messages are merged because
    several providers reject two user (or assistant) turns in a row."""
    out: list[dict[str, Any]] = []
    for m in messages:
        d = m.to_dict() if isinstance(m, ChatMessage) else {"role": m["role"], "content": m.get("content") or ""}
        if out and out[-1]["role"] == d["role"] and d["role"] != "system":
            prev = out[-1]["content"]
            if isinstance(prev, str) and isinstance(d["content"], str):
                merged: Any = prev + "\n\n" + d["content"]
            else:
                merged = _as_parts(prev) + _as_parts(d["content"])
            out[-1] = {"role": d["role"], "content": merged}
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
    # Whether messages may carry images (run(images=...)).
    supports_images: bool = True

    def __init__(self, model_id: str, *, custom_role_conversions: dict[str, str] | None = None,
                 flatten_messages_as_text: bool | None = None, **kwargs: Any):
        self.model_id = model_id
        # smolagents' switch for servers that take roles under other names (e.g. tool-response -> user)
        self.custom_role_conversions = dict(custom_role_conversions or {})
        # accepted for smolagents' sake: messages are text here anyway, except images
        self.flatten_messages_as_text = flatten_messages_as_text
        # Extra per-call parameters (temperature, max_tokens, ...) sent with every request.
        self.kwargs = kwargs

    def _messages(self, messages: Sequence[MessageInput]) -> list[dict[str, Any]]:
        out = _as_dicts(messages)
        if self.custom_role_conversions:
            out = [{**m, "role": self.custom_role_conversions.get(m["role"], m["role"])} for m in out]
        return out

    def generate(self, messages: Sequence[MessageInput], *, stop_sequences: Sequence[str] | None = None,
                 tools: Sequence[Any] | None = None, tools_to_call_from: Sequence[Any] | None = None,
                 **kwargs: Any) -> ChatMessage:
        """`tools_to_call_from` is smolagents' name for `tools`; other kwargs go into the request."""
        msg = self._generate(self._messages(messages), list(stop_sequences or []),
                             list(tools or tools_to_call_from or []), {**self.kwargs, **kwargs})
        # Some servers ignore `stop`; cutting client-side keeps the loop's assumptions true.
        if msg.content and stop_sequences:
            cut = apply_stop_sequences(msg.content, stop_sequences)
            if cut != msg.content:
                msg = ChatMessage(msg.role, cut, msg.tool_calls, msg.token_usage, msg.raw)
        return msg

    __call__ = generate

    def generate_stream(self, messages: Sequence[MessageInput], *, stop_sequences: Sequence[str] | None = None,
                        tools: Sequence[Any] | None = None, tools_to_call_from: Sequence[Any] | None = None,
                        **kwargs: Any) -> Iterator[Any]:
        """Yields ChatMessageStreamDelta as the model produces tokens; fold them with
        `agglomerate_stream_deltas` into what `generate` would return."""
        from agent.models.streaming import cut_at_stop_sequences

        deltas = self._generate_stream(self._messages(messages), list(stop_sequences or []),
                                       list(tools or tools_to_call_from or []), {**self.kwargs, **kwargs})
        yield from cut_at_stop_sequences(deltas, list(stop_sequences or []))

    def _generate(self, messages: list[dict[str, Any]], stop: list[str], tools: list[Any],
                  params: dict[str, Any]) -> ChatMessage:
        raise NotImplementedError

    def _generate_stream(self, messages: list[dict[str, Any]], stop: list[str], tools: list[Any],
                         params: dict[str, Any]) -> Iterator[Any]:
        """Backends that cannot stream give their whole answer as one delta."""
        from agent.models.streaming import ChatMessageStreamDelta, ChatMessageToolCallStreamDelta

        msg = self._generate(messages, stop, tools, params)
        calls = tuple(ChatMessageToolCallStreamDelta(i, c.id, c.name, json.dumps(c.arguments))
                      for i, c in enumerate(msg.tool_calls))
        yield ChatMessageStreamDelta(msg.content, calls, msg.token_usage)

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


# How backends say that no API key was given at all (before any request was sent).
_NO_KEY = ("missing credentials", "api_key client option must be set", "no api key provided",
           "api key not found", "missing api key")


def classify_error(exc: BaseException, model_id: str) -> ModelError:
    """Maps a backend's exception to our tree, by HTTP status when it has one."""
    if isinstance(exc, ModelError):
        return exc
    status = _status_of(exc)
    text = f"{type(exc).__name__}: {exc}"
    if any(sign in str(exc).lower() for sign in _NO_KEY):
        # litellm reports a key that is not set at all as a 500: retrying cannot help.
        return AuthenticationError(
            f"no credentials for model {model_id!r}: set the provider's API key variable (for example "
            f"OPENAI_API_KEY or ANTHROPIC_API_KEY) or pass api_key=. {text}", status_code=status)
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
    if isinstance(err, AuthenticationError):
        return False  # whatever status came with it: the same key fails the same way
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

    def _stream_with_retries(self, open_stream: Callable[[], Any]) -> Iterator[Any]:
        """Deltas of an OpenAI-shaped stream. Opening it is retried like any call; a failure
        mid-stream is not (tokens were already shown), it is raised as a ModelError."""
        from agent.models.streaming import openai_style_deltas

        chunks = self._with_retries(open_stream)
        try:
            yield from openai_style_deltas(chunks)
        except ModelError:
            raise
        except Exception as exc:  # the backend's own transport/HTTP errors
            raise classify_error(exc, self.model_id) from exc


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
