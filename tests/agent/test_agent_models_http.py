"""The API backends make real HTTP calls to the loopback OpenAI-compatible server."""
import pytest

from agent import (AuthenticationError, InferenceClientModel, LiteLLMModel, ModelError, ModelNotFoundError,
                   OpenAIServerModel, RateLimitError, RetryPolicy, tool)
from agent.models.base import ChatMessage
from scripted_llm import calls, error, text

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05)


@tool
def lookup(key: str) -> str:
    """Looks a key up.

    Args:
        key: the key
    """
    return key


def make(kind: str, base_url: str, retry: RetryPolicy = FAST):
    if kind == "openai":
        return OpenAIServerModel("scripted-model", api_base=base_url, api_key="sk-test", retry=retry)
    if kind == "litellm":
        return LiteLLMModel("openai/scripted-model", api_base=base_url, api_key="sk-test", retry=retry)
    return InferenceClientModel("scripted-model", base_url=base_url, token="hf_test", retry=retry)


BACKENDS = ["openai", "litellm", "inference"]
MESSAGES = [ChatMessage("system", "You are terse."), ChatMessage("user", "Say hi")]


@pytest.mark.parametrize("kind", BACKENDS)
def test_text_completion_with_usage_and_stop(llm, kind):
    llm.script(text("Hello there"))
    msg = make(kind, llm.base_url).generate(MESSAGES, stop_sequences=["Observation:"])
    assert msg.content == "Hello there"
    assert msg.tool_calls == ()
    assert (msg.token_usage.input_tokens, msg.token_usage.output_tokens) == (11, 7)
    req = llm.requests[0]
    assert req["stop"] == ["Observation:"]
    assert [m["role"] for m in req["messages"]] == ["system", "user"]
    assert llm.headers[0]["authorization"] in ("Bearer sk-test", "Bearer hf_test")


@pytest.mark.parametrize("kind", BACKENDS)
def test_native_tool_calls_are_sent_and_decoded(llm, kind):
    llm.script(calls(("lookup", {"key": "a"}), ("lookup", {"key": "b"})))
    msg = make(kind, llm.base_url).generate(MESSAGES, tools=[lookup])
    assert [(c.name, c.arguments) for c in msg.tool_calls] == [("lookup", {"key": "a"}), ("lookup", {"key": "b"})]
    sent = llm.requests[0]["tools"][0]["function"]
    assert sent["name"] == "lookup" and sent["parameters"]["required"] == ["key"]


@pytest.mark.parametrize("kind", BACKENDS)
def test_429_is_retried_with_backoff(llm, kind):
    llm.script(error(429, "slow down"), error(503, "busy"), text("finally"))
    assert make(kind, llm.base_url).generate(MESSAGES).content == "finally"
    assert len(llm.requests) == 3


def gaps(llm) -> list[float]:
    return [b - a for a, b in zip(llm.times, llm.times[1:])]


def test_backoff_waits_grow_exponentially(llm):
    llm.script(error(503), error(503), text("up again"))
    slow = RetryPolicy(max_attempts=3, base_delay_s=0.3, multiplier=2.0)
    assert make("openai", llm.base_url, retry=slow).generate(MESSAGES).content == "up again"
    first, second = gaps(llm)
    # jitter is +-25%: 0.3 s then 0.6 s, so the second wait is always the longer
    assert 0.2 <= first < second and second >= 0.45


@pytest.mark.parametrize("kind", BACKENDS)
def test_retry_after_header_is_honoured(llm, kind):
    llm.script(error(429, "slow down", retry_after="1"), text("thanks for waiting"))
    assert make(kind, llm.base_url).generate(MESSAGES).content == "thanks for waiting"
    assert gaps(llm)[0] >= 0.9  # FAST alone would wait at most 0.05 s


@pytest.mark.parametrize("kind", BACKENDS)
def test_rate_limit_that_persists_raises(llm, kind):
    llm.script(error(429), error(429), error(429), text("never reached"))
    with pytest.raises(RateLimitError):
        make(kind, llm.base_url).generate(MESSAGES)
    assert len(llm.requests) == 3


@pytest.mark.parametrize("kind", BACKENDS)
def test_bad_credentials_are_a_clear_error_without_retry(llm, kind):
    llm.script(error(401, "invalid api key"), text("unused"))
    with pytest.raises(AuthenticationError, match="credentials"):
        make(kind, llm.base_url).generate(MESSAGES)
    assert len(llm.requests) == 1


@pytest.mark.parametrize("kind", BACKENDS)
def test_unknown_model_is_a_clear_error(llm, kind):
    llm.script(error(404, "model not found"))
    with pytest.raises(ModelNotFoundError, match="scripted-model"):
        make(kind, llm.base_url).generate(MESSAGES)


def test_litellm_model_id_without_a_provider_is_a_clear_error(llm):
    llm.script(text("unused"))
    with pytest.raises(ModelNotFoundError, match="prefix it with the provider"):
        LiteLLMModel("no-such-model-xyz", api_key="sk-test", retry=FAST).generate(MESSAGES)
    assert llm.requests == []


def test_server_errors_exhaust_retries(llm):
    llm.script(error(500), error(500), error(500))
    with pytest.raises(ModelError) as info:
        make("openai", llm.base_url).generate(MESSAGES)
    assert info.value.status_code == 500 and len(llm.requests) == 3


def test_stop_sequences_are_applied_when_the_server_ignores_them(llm):
    llm.script(text("<code>\nx = 1\n</code>\nObservation: made up"))
    msg = make("openai", llm.base_url).generate(MESSAGES, stop_sequences=["Observation:"])
    assert msg.content == "<code>\nx = 1\n</code>\n"


def test_litellm_model_without_any_key_fails_at_once(monkeypatch):
    """litellm reports a missing key as HTTP 500; it must not be retried as a server error.
    (A spy counts litellm's calls and passes each through to the real function.)"""
    import litellm

    from agent.models.base import RetryPolicy
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    calls = []
    real = litellm.completion
    monkeypatch.setattr(litellm, "completion", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    with pytest.raises(AuthenticationError, match="no credentials") as info:
        LiteLLMModel("openai/gpt-4o-mini", retry=RetryPolicy(base_delay_s=0.01)).generate(MESSAGES)
    assert len(calls) == 1, f"retried {len(calls) - 1} times"
    assert "OPENAI_API_KEY" in str(info.value)


def test_openai_model_without_any_key_says_so(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(AuthenticationError, match="OPENAI_API_KEY"):
        OpenAIServerModel("gpt-4o-mini")


def test_openai_model_reads_base_url_and_key_from_environment(llm, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    llm.script(text("env ok"))
    assert OpenAIServerModel("scripted-model", retry=FAST).generate(MESSAGES).content == "env ok"
    assert llm.headers[0]["authorization"] == "Bearer sk-from-env"
