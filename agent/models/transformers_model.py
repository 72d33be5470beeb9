"""A local model run in-process with transformers (optional extra: `sandcell[transformers]`)."""
from __future__ import annotations

from typing import Any

from agent.models.base import ChatMessage, Model, TokenUsage

__all__ = ["TransformersModel"]


class TransformersModel(Model):
    """Loads `model_id` (a Hub id or a local directory) with AutoModelForCausalLM.

    Native tool calls are not used: the ToolCallingAgent reads JSON tool calls from the text.
    """

    supports_native_tools = False
    supports_images = False  # text-only generation here

    def __init__(self, model_id: str, *, device_map: str | None = None, torch_dtype: str | None = None,
                 trust_remote_code: bool = False, max_new_tokens: int = 1024,
                 model_kwargs: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(model_id, **kwargs)
        try:  # heavy and optional: imported only when a local model is actually wanted
            import torch  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise ImportError("TransformersModel needs the extra: pip install 'sandcell[transformers]'") from exc
        self.max_new_tokens = max_new_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(model_id, trust_remote_code=trust_remote_code)
        self.model = AutoModelForCausalLM.from_pretrained(
            model_id, device_map=device_map, torch_dtype=torch_dtype or "auto",
            trust_remote_code=trust_remote_code, **(model_kwargs or {}))

    def _prompt(self, messages: list[dict[str, Any]]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        # Tiny test models often ship without a chat template.
        return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "

    def _inputs(self, messages, stop, params) -> tuple[Any, dict[str, Any], int]:
        from transformers import StoppingCriteria, StoppingCriteriaList

        tok = self.tokenizer
        inputs = tok(self._prompt(messages), return_tensors="pt").to(self.model.device)
        n_in = inputs["input_ids"].shape[1]

        class _StopOnStrings(StoppingCriteria):
            # Stop sequences are strings; decode the tail and look for them.
            def __call__(self, input_ids, scores, **kw):
                tail = tok.decode(input_ids[0][n_in:], skip_special_tokens=True)
                return any(s in tail for s in stop)

        gen_kwargs = {"max_new_tokens": params.pop("max_tokens", self.max_new_tokens), **params}
        if stop:
            gen_kwargs["stopping_criteria"] = StoppingCriteriaList([_StopOnStrings()])
        if tok.pad_token_id is None:
            gen_kwargs["pad_token_id"] = tok.eos_token_id
        return inputs, gen_kwargs, int(n_in)

    def _generate(self, messages, stop, tools, params) -> ChatMessage:
        import torch

        inputs, gen_kwargs, n_in = self._inputs(messages, stop, params)
        with torch.no_grad():
            out = self.model.generate(**inputs, **gen_kwargs)
        new = out[0][n_in:]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return ChatMessage("assistant", text, (), TokenUsage(n_in, int(new.shape[0])), out)

    def _generate_stream(self, messages, stop, tools, params):
        """Tokens as generate() produces them (transformers' TextIteratorStreamer; generation
        runs in a thread and hands decoded text over as it goes)."""
        import threading

        import torch
        from transformers import TextIteratorStreamer

        from agent.models.streaming import ChatMessageStreamDelta

        inputs, gen_kwargs, n_in = self._inputs(messages, stop, params)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        counted: list[int] = []

        def run() -> None:
            with torch.no_grad():
                out = self.model.generate(**inputs, **gen_kwargs, streamer=streamer)
            counted.append(int(out[0].shape[0]) - n_in)

        worker = threading.Thread(target=run, name="transformers-generate", daemon=True)
        worker.start()
        for piece in streamer:
            if piece:
                yield ChatMessageStreamDelta(piece)
        worker.join()
        yield ChatMessageStreamDelta(token_usage=TokenUsage(n_in, counted[0] if counted else 0))
