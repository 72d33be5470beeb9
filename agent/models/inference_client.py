"""Hugging Face Inference Providers (or any TGI/OpenAI-compatible URL) via huggingface_hub."""
from __future__ import annotations

import os
from typing import Any

from agent.models.base import ApiModel, ChatMessage, RetryPolicy, openai_style_message

__all__ = ["InferenceClientModel"]


class InferenceClientModel(ApiModel):
    """`token` defaults to $HF_TOKEN; `provider` picks an inference provider ("auto" by default);
    `base_url` sends requests to that server instead (provider is then unused)."""

    def __init__(self, model_id: str = "Qwen/Qwen2.5-Coder-32B-Instruct", *, provider: str | None = None,
                 token: str | None = None, base_url: str | None = None, timeout_s: float = 120.0,
                 tool_choice: str | None = "required", retry: RetryPolicy | None = None,
                 client_kwargs: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(model_id, retry=retry, tool_choice=tool_choice, **kwargs)
        from huggingface_hub import InferenceClient

        self.base_url = base_url
        self.client = InferenceClient(
            provider=None if base_url else provider, base_url=base_url,
            token=token or os.environ.get("HF_TOKEN"), timeout=timeout_s, **(client_kwargs or {}))

    def _generate(self, messages, stop, tools, params) -> ChatMessage:
        req = self._chat_request(messages, stop, tools, params)
        resp = self._with_retries(lambda: self.client.chat_completion(**req))
        return openai_style_message(resp.choices[0].message, getattr(resp, "usage", None), resp)
