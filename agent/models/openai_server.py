"""Any OpenAI-compatible chat-completions server (OpenAI, vLLM, llama.cpp, TGI, ...), and Azure OpenAI."""
from __future__ import annotations

import os
from typing import Any

from agent.errors import AuthenticationError
from agent.models.base import ApiModel, ChatMessage, RetryPolicy, openai_style_message

__all__ = ["OpenAIServerModel", "AzureOpenAIServerModel", "OpenAIModel", "AzureOpenAIModel"]


class OpenAIServerModel(ApiModel):
    """`api_base` defaults to $OPENAI_BASE_URL (else OpenAI); `api_key` to $OPENAI_API_KEY.
    The first four parameters may be positional, as in smolagents."""

    def __init__(self, model_id: str, api_base: str | None = None, api_key: str | None = None,
                 organization: str | None = None, project: str | None = None, *,
                 timeout_s: float | None = None, timeout: float | None = None,
                 tool_choice: str | None = "required",
                 retry: RetryPolicy | None = None, client_kwargs: dict[str, Any] | None = None,
                 **kwargs: Any):
        super().__init__(model_id, retry=retry, tool_choice=tool_choice, **kwargs)
        api_base = api_base or os.environ.get("OPENAI_BASE_URL")
        api_key = api_key or os.environ.get("OPENAI_API_KEY")
        if not api_key:
            if not api_base:
                raise AuthenticationError("no API key: set OPENAI_API_KEY or pass api_key=")
            api_key = "EMPTY"  # local OpenAI-compatible servers usually need none
        self.api_base = api_base
        self.client = self._client(api_base=api_base, api_key=api_key, organization=organization, project=project,
                                   timeout=timeout_s or timeout or 120.0, client_kwargs=client_kwargs or {})

    @staticmethod
    def _client(*, api_base, api_key, organization, project, timeout, client_kwargs) -> Any:
        import openai  # imported here so `agent` imports without the extra installed

        # Retries are ours (RetryPolicy), so the SDK's own are off to avoid multiplying waits.
        return openai.OpenAI(base_url=api_base, api_key=api_key, organization=organization, project=project,
                             timeout=timeout, max_retries=0, **client_kwargs)

    def _generate(self, messages, stop, tools, params) -> ChatMessage:
        req = self._chat_request(messages, stop, tools, params)
        resp = self._with_retries(lambda: self.client.chat.completions.create(**req))
        return openai_style_message(resp.choices[0].message, resp.usage, resp)

    def _generate_stream(self, messages, stop, tools, params):
        req = self._chat_request(messages, stop, tools, params)
        yield from self._stream_with_retries(lambda: self.client.chat.completions.create(
            **req, stream=True, stream_options={"include_usage": True}))


class AzureOpenAIServerModel(OpenAIServerModel):
    """Azure OpenAI: `model_id` is the deployment name; `azure_endpoint`, `api_key` and
    `api_version` default to $AZURE_OPENAI_ENDPOINT, $AZURE_OPENAI_API_KEY and $OPENAI_API_VERSION."""

    def __init__(self, model_id: str, azure_endpoint: str | None = None, api_key: str | None = None,
                 api_version: str | None = None, *, timeout_s: float | None = None, timeout: float | None = None,
                 tool_choice: str | None = "required", retry: RetryPolicy | None = None,
                 client_kwargs: dict[str, Any] | None = None, **kwargs: Any):
        ApiModel.__init__(self, model_id, retry=retry, tool_choice=tool_choice, **kwargs)
        import openai

        endpoint = azure_endpoint or os.environ.get("AZURE_OPENAI_ENDPOINT")
        api_key = api_key or os.environ.get("AZURE_OPENAI_API_KEY")
        if not endpoint:
            raise TypeError("AzureOpenAIServerModel needs azure_endpoint= (or $AZURE_OPENAI_ENDPOINT)")
        if not api_key and "azure_ad_token_provider" not in (client_kwargs or {}):
            raise AuthenticationError("no API key: set AZURE_OPENAI_API_KEY or pass api_key=")
        self.api_base = endpoint
        self.client = openai.AzureOpenAI(
            azure_endpoint=endpoint, api_key=api_key,
            api_version=api_version or os.environ.get("OPENAI_API_VERSION") or "2024-10-21",
            timeout=timeout_s or timeout or 120.0, max_retries=0, **(client_kwargs or {}))


# smolagents' newer names for the same classes
OpenAIModel = OpenAIServerModel
AzureOpenAIModel = AzureOpenAIServerModel
