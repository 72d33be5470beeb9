"""Hugging Face Inference Providers (or any TGI/OpenAI-compatible URL) via huggingface_hub."""
from __future__ import annotations

import os
import warnings
from typing import Any

from agent.models.base import ApiModel, ChatMessage, RetryPolicy, openai_style_message

__all__ = ["InferenceClientModel", "HfApiModel"]


class InferenceClientModel(ApiModel):
    """`token` (or `api_key`) defaults to $HF_TOKEN; `provider` picks an inference provider
    ("auto" by default); `base_url` sends requests to that server instead (provider is then
    unused). `timeout` is in seconds, as in smolagents (`timeout_s` is the same)."""

    def __init__(self, model_id: str = "Qwen/Qwen2.5-Coder-32B-Instruct", provider: str | None = None,
                 token: str | None = None, timeout: float | None = None, client_kwargs: dict[str, Any] | None = None,
                 *, api_key: str | None = None, bill_to: str | None = None, base_url: str | None = None,
                 timeout_s: float | None = None, tool_choice: str | None = "required",
                 retry: RetryPolicy | None = None, **kwargs: Any):
        super().__init__(model_id, retry=retry, tool_choice=tool_choice, **kwargs)
        from huggingface_hub import InferenceClient

        if token and api_key:
            raise TypeError("pass either token= or api_key= (they are the same), not both")
        self.base_url = base_url
        extra = dict(client_kwargs or {})
        if bill_to:
            extra["bill_to"] = bill_to
        self.client = InferenceClient(
            provider=None if base_url else provider, base_url=base_url,
            token=token or api_key or os.environ.get("HF_TOKEN"), timeout=timeout_s or timeout or 120.0, **extra)

    def _generate(self, messages, stop, tools, params) -> ChatMessage:
        req = self._chat_request(messages, stop, tools, params)
        resp = self._with_retries(lambda: self.client.chat_completion(**req))
        return openai_style_message(resp.choices[0].message, getattr(resp, "usage", None), resp)

    def _generate_stream(self, messages, stop, tools, params):
        req = self._chat_request(messages, stop, tools, params)
        yield from self._stream_with_retries(lambda: self.client.chat_completion(
            **req, stream=True, stream_options={"include_usage": True}))


class HfApiModel(InferenceClientModel):
    """Deprecated: smolagents renamed it InferenceClientModel; this name still works."""

    def __init__(self, *args: Any, **kwargs: Any):
        warnings.warn("HfApiModel is deprecated: use InferenceClientModel (same arguments)", FutureWarning,
                      stacklevel=2)
        super().__init__(*args, **kwargs)
