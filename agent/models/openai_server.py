"""Any OpenAI-compatible chat-completions server (OpenAI, vLLM, llama.cpp, TGI, ...)."""
from __future__ import annotations

import os
from typing import Any

from agent.errors import AuthenticationError
from agent.models.base import ApiModel, ChatMessage, RetryPolicy, openai_style_message

__all__ = ["OpenAIServerModel"]


class OpenAIServerModel(ApiModel):
    """`api_base` defaults to $OPENAI_BASE_URL (else OpenAI); `api_key` to $OPENAI_API_KEY."""

    def __init__(self, model_id: str, *, api_base: str | None = None, api_key: str | None = None,
                 organization: str | None = None, project: str | None = None,
                 timeout_s: float = 120.0, tool_choice: str | None = "required",
                 retry: RetryPolicy | None = None, client_kwargs: dict[str, Any] | None = None,
                 **kwargs: Any):
        super().__init__(model_id, retry=retry, tool_choice=tool_choice, **kwargs)
        import openai  # imported here so `agent` imports without the extra installed

        api_base = api_base or os.environ.get("OPENAI_BASE_URL")
        api_key = api_key or os.environ.get("OPENAI_API_KEY")
        if not api_key:
            if not api_base:
                raise AuthenticationError("no API key: set OPENAI_API_KEY or pass api_key=")
            api_key = "EMPTY"  # local OpenAI-compatible servers usually need none
        self.api_base = api_base
        # Retries are ours (RetryPolicy), so the SDK's own are off to avoid multiplying waits.
        self.client = openai.OpenAI(base_url=api_base, api_key=api_key, organization=organization,
                                    project=project, timeout=timeout_s, max_retries=0,
                                    **(client_kwargs or {}))

    def _generate(self, messages, stop, tools, params) -> ChatMessage:
        req = self._chat_request(messages, stop, tools, params)
        resp = self._with_retries(lambda: self.client.chat.completions.create(**req))
        return openai_style_message(resp.choices[0].message, resp.usage, resp)
