"""LiteLLM: one interface to 100+ providers; model ids look like "anthropic/claude-...". """
from __future__ import annotations

import importlib.util
import os
from typing import Any

from agent.errors import ModelNotFoundError
from agent.models.base import ApiModel, ChatMessage, RetryPolicy, openai_style_message

__all__ = ["LiteLLMModel"]


class LiteLLMModel(ApiModel):
    """Credentials come from the provider's usual variable (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...)
    unless `api_key` is given; `api_base` points at a custom endpoint."""

    def __init__(self, model_id: str, api_base: str | None = None, api_key: str | None = None, *,
                 timeout_s: float | None = None, timeout: float | None = None, tool_choice: str | None = "required",
                 retry: RetryPolicy | None = None, **kwargs: Any):
        super().__init__(model_id, retry=retry, tool_choice=tool_choice, **kwargs)
        self.api_base = api_base
        self.api_key = api_key
        self.timeout_s = timeout_s or timeout or 120.0

    def _generate(self, messages, stop, tools, params) -> ChatMessage:
        litellm, req = self._request(messages, stop, tools, params)
        resp = self._with_retries(lambda: litellm.completion(**req))
        return openai_style_message(resp.choices[0].message, getattr(resp, "usage", None), resp)

    def _generate_stream(self, messages, stop, tools, params):
        litellm, req = self._request(messages, stop, tools, params)
        yield from self._stream_with_retries(lambda: litellm.completion(
            **req, stream=True, stream_options={"include_usage": True}))

    def _request(self, messages, stop, tools, params) -> tuple[Any, dict[str, Any]]:
        # litellm fetches its model price table from GitHub on import, retrying for seconds
        # where that is unreachable (sandboxed hosts); its bundled copy serves token counting.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm  # slow to import; only pay for it when this backend is used

        # Otherwise every failed call prints "Give Feedback / Get Help" banners into our output;
        # the error itself reaches the caller as a ModelError.
        litellm.suppress_debug_info = True

        try:  # a model id litellm cannot route would otherwise surface as a vague HTTP 400
            litellm.get_llm_provider(self.model_id, api_base=self.api_base)
        except Exception as exc:  # litellm raises its BadRequestError (or ValueError in older versions)
            raise ModelNotFoundError(
                f"litellm cannot tell which provider serves model {self.model_id!r}: prefix it with "
                "the provider, e.g. 'openai/gpt-4o-mini', 'anthropic/claude-sonnet-4-5', "
                "'huggingface/<repo>', 'ollama/<model>'") from exc
        # our RetryPolicy does the retrying
        req = self._chat_request(messages, stop, tools, {"timeout": self.timeout_s, "num_retries": 0,
                                                         "max_retries": 0, **params})
        if self.api_base:
            req["api_base"] = self.api_base
        if self.api_key:
            req["api_key"] = self.api_key
        if tools and importlib.util.find_spec("mcp") is None:
            # litellm routes any call with tools through its MCP handler, which imports the
            # optional `mcp` package; that handler has this switch, and we never pass MCP tools.
            req["_skip_mcp_handler"] = True
        return litellm, req
