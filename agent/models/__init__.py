"""Model backends behind one interface (`Model.generate`)."""
from agent.models.base import ApiModel, ChatMessage, Model, RetryPolicy, TokenUsage, ToolCall
from agent.models.inference_client import HfApiModel, InferenceClientModel
from agent.models.litellm_model import LiteLLMModel
from agent.models.openai_server import AzureOpenAIModel, AzureOpenAIServerModel, OpenAIModel, OpenAIServerModel
from agent.models.streaming import ChatMessageStreamDelta, ChatMessageToolCallStreamDelta, agglomerate_stream_deltas


def __getattr__(name):
    # TransformersModel pulls in torch; load it only when asked for.
    if name == "TransformersModel":
        from agent.models.transformers_model import TransformersModel
        return TransformersModel
    raise AttributeError(name)


__all__ = ["Model", "ApiModel", "ChatMessage", "ToolCall", "TokenUsage", "RetryPolicy",
           "LiteLLMModel", "InferenceClientModel", "HfApiModel", "OpenAIServerModel", "OpenAIModel",
           "AzureOpenAIServerModel", "AzureOpenAIModel", "TransformersModel",
           "ChatMessageStreamDelta", "ChatMessageToolCallStreamDelta", "agglomerate_stream_deltas"]
