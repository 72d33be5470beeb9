"""Issue 15 item 2: the keywords smolagents users pass mean the same here. Real model clients
over loopback HTTP (the scripted server, streaming as server-sent events), a real executor."""
import importlib.resources
import io
import time
import warnings

import pytest
import yaml
from PIL import Image

from sandcell.agent import (AgentLogger, AzureOpenAIServerModel, ChatMessage, ChatMessageStreamDelta, CodeAgent,
                            FinalAnswerStep, HfApiModel, InferenceClientModel, LiteLLMModel, LogLevel,
                            OpenAIServerModel, RetryPolicy, ToolCallingAgent, agglomerate_stream_deltas,
                            populate_template, tool)
from sandcell.agent.memory import ActionStep, Timing
from scripted_llm import Reply, calls, text

FAST = RetryPolicy(max_attempts=2, base_delay_s=0.01)


def openai_model(llm, **kw):
    return OpenAIServerModel("scripted-model", llm.base_url, "sk-test", retry=FAST, **kw)


def code(body: str, thought: str = "Thought: next step", tags=("<code>", "</code>")) -> str:
    return f"{thought}\n{tags[0]}\n{body}\n"


@tool
def add(a: int, b: int) -> int:
    """Adds two integers.

    Args:
        a: first
        b: second
    """
    return a + b


STREAM_MODELS = {
    "openai": lambda url: OpenAIServerModel("scripted-model", url, "sk-test", retry=FAST),
    "litellm": lambda url: LiteLLMModel("openai/scripted-model", url, "sk-test", retry=FAST),
    "inference": lambda url: InferenceClientModel("scripted-model", base_url=url, token="hf_test", timeout=60,
                                                  retry=FAST),
    "azure": lambda url: AzureOpenAIServerModel("scripted-model", url[:-len("/v1")], "az-key", "2024-10-21",
                                                retry=FAST),
}


@pytest.mark.parametrize("kind", list(STREAM_MODELS))
def test_generate_stream_yields_tokens_as_they_arrive_on_every_model_class(llm, kind):
    content = "Thought: adding\n<code>\nprint(1 + 2)\n"
    llm.script(Reply(content=content, chunk_chars=3, chunk_delay_s=0.03))
    model = STREAM_MODELS[kind](llm.base_url)
    start, arrivals, deltas = time.monotonic(), [], []
    for d in model.generate_stream([ChatMessage("user", "go")], stop_sequences=["Observation:"]):
        arrivals.append(time.monotonic() - start)
        deltas.append(d)
    pieces = [d.content for d in deltas if d.content]
    assert len(pieces) >= 5, pieces  # token by token, not one lump
    # the first piece was in our hands well before the server had sent the last one
    assert arrivals[0] < arrivals[-1] - 0.1
    msg = agglomerate_stream_deltas(deltas)
    assert msg.content == content
    assert (msg.token_usage.input_tokens, msg.token_usage.output_tokens) == (11, 7)
    assert llm.requests[0]["stream"] is True
    if kind == "azure":
        assert llm.headers[0][":path"].startswith("/openai/deployments/scripted-model/chat/completions")
        assert "api-version=2024-10-21" in llm.headers[0][":path"]


def test_streamed_native_tool_calls_are_reassembled(llm):
    llm.script(Reply(tool_calls=[{"name": "add", "arguments": {"a": 20, "b": 22}}], chunk_chars=5))
    msg = agglomerate_stream_deltas(openai_model(llm).generate_stream([ChatMessage("user", "go")], tools=[add]))
    assert [(c.name, c.arguments) for c in msg.tool_calls] == [("add", {"a": 20, "b": 22})]


def test_stop_sequences_cut_streams_even_when_the_server_ignores_them(llm):
    llm.script(Reply(content="Thought: x\nObservation: made up", chunk_chars=2))
    msg = agglomerate_stream_deltas(openai_model(llm).generate_stream([ChatMessage("user", "go")],
                                                                      stop_sequences=["Observation:"]))
    assert msg.content == "Thought: x\n"


def test_code_agent_stream_outputs_yields_deltas_then_steps(llm, executor):
    llm.script(Reply(content=code("x = add(2, 3)\nprint(x)"), chunk_chars=4),
               Reply(content=code("final_answer(x * 2)"), chunk_chars=4))
    with CodeAgent([add], openai_model(llm), executor=executor, stream_outputs=True,
                   verbosity_level=LogLevel.OFF) as agent:
        events = list(agent.run("add then double", stream=True))
    kinds = [type(e).__name__ for e in events]
    first_step = kinds.index("ActionStep")
    assert kinds[0] == "ChatMessageStreamDelta" and first_step > 3
    streamed = "".join(e.content or "" for e in events[:first_step] if isinstance(e, ChatMessageStreamDelta))
    assert streamed == code("x = add(2, 3)\nprint(x)")
    assert isinstance(events[-1], FinalAnswerStep) and events[-1].output == 10
    assert all(r["stream"] for r in llm.requests)


def test_stream_outputs_are_printed_live_at_info_verbosity(llm, executor, capsys):
    llm.script(Reply(content=code("final_answer(7)", thought="Thought: streaming-visible"), chunk_chars=3))
    with CodeAgent([], openai_model(llm), executor=executor, stream_outputs=True) as agent:
        assert agent.run("seven") == 7
    out = capsys.readouterr().out
    assert "streaming-visible" in out and "Step 1" in out and "Final answer: 7" in out


def test_verbosity_level_off_prints_nothing_and_info_prints_steps(llm, executor, capsys):
    llm.script(text(code("print('hello from step')\nfinal_answer(1)")))
    with CodeAgent([], openai_model(llm), executor=executor, verbosity_level=LogLevel.OFF) as agent:
        agent.run("quiet")
    assert capsys.readouterr().out == ""
    llm.script(text(code("print('hello from step')\nfinal_answer(1)")))
    with CodeAgent([], openai_model(llm), executor=executor, verbosity_level=1) as agent:
        agent.run("loud")
    out = capsys.readouterr().out
    assert "Step 1" in out and "hello from step" in out and "print('hello from step')" in out


def test_smolagents_own_prompt_templates_render_with_our_agent(llm, executor):
    smol = yaml.safe_load(importlib.resources.files("smolagents.prompts").joinpath("code_agent.yaml").read_text())
    llm.script(text(code("final_answer(add(1, 2))")))
    with CodeAgent([add], openai_model(llm), executor=executor, prompt_templates=smol, verbosity_level=-1,
                   instructions="Always be brief.") as agent:
        assert agent.run("1+2") == 3
    system = llm.requests[0]["messages"][0]["content"]
    assert "def add(a: int, b: int) -> int:" in system and "Always be brief." in system
    assert system == populate_template(smol["system_prompt"], agent._template_variables())


def test_prompt_templates_override_one_key_and_reject_typos(llm):
    llm.script(calls(("final_answer", {"answer": "ok"})))
    agent = ToolCallingAgent([add], openai_model(llm), verbosity_level=-1,
                             prompt_templates={"system_prompt": "Tools: {% for t in tools.values() %}{{t.name}} "
                                                                "{% endfor %}"})
    assert agent.run("x") == "ok"
    assert llm.requests[0]["messages"][0]["content"] == "Tools: add final_answer "
    assert "managed_agent" in agent.prompt_templates  # the rest kept our defaults
    with pytest.raises(TypeError, match="unknown prompt template 'sytem_prompt'"):
        ToolCallingAgent([], openai_model(llm), prompt_templates={"sytem_prompt": "x"})
    with pytest.raises(ValueError, match="undefined"):
        populate_template("{{ nope }}", {})


def test_code_block_tags_markdown(llm, executor):
    llm.script(text("Thought: fenced\n```python\nresult = 6 * 7\nfinal_answer(result)\n```"))
    with CodeAgent([], openai_model(llm), executor=executor, code_block_tags="markdown",
                   verbosity_level=-1) as agent:
        assert agent.run("6*7") == 42
    system = llm.requests[0]["messages"][0]["content"]
    assert "```python\nresult = 5 + 3 + 1294.678" in system and "<code>" not in system
    with pytest.raises(ValueError, match="markdown"):
        CodeAgent([], openai_model(llm), code_block_tags="html")


def test_max_print_outputs_length_truncates_what_the_model_sees(llm, executor):
    llm.script(text(code("print('x' * 5000)")), text(code("final_answer('done')")))
    with CodeAgent([], openai_model(llm), executor=executor, max_print_outputs_length=1000,
                   verbosity_level=-1) as agent:
        agent.run("print a lot")
    obs = agent.memory.action_steps()[0].observations
    assert "truncated" in obs and obs.count("x") < 1100


def test_executor_kwargs_set_session_options_and_unknown_ones_say_what_to_do(llm, executor):
    llm.script(text(code("while True:\n    pass")), text(code("final_answer('stopped')")))
    with CodeAgent([], openai_model(llm), executor=executor, executor_kwargs={"wall_timeout_ms": 500},
                   verbosity_level=-1) as agent:
        assert agent.run("spin") == "stopped"
    assert "time" in str(agent.memory.action_steps()[0].error).lower()
    with pytest.raises(TypeError, match="not sandcell executor options"):
        CodeAgent([], openai_model(llm), executor_kwargs={"image": "python:3.12"})


def test_return_full_result_and_instructions_from_the_constructor(llm):
    llm.script(calls(("final_answer", {"answer": "fine"})))
    agent = ToolCallingAgent([], openai_model(llm), return_full_result=True, instructions="Speak French.",
                             verbosity_level=-1)
    result = agent.run("how are you")
    assert result.output == "fine" and result.state == "success"
    assert "Speak French." in llm.requests[0]["messages"][0]["content"]


def test_run_with_images_sends_them_to_the_model(llm):
    img = Image.new("RGB", (4, 4), "red")
    llm.script(calls(("final_answer", {"answer": "red"})))
    agent = ToolCallingAgent([], openai_model(llm), verbosity_level=-1)
    assert agent.run("what colour?", images=[img]) == "red"
    task_turn = [m for m in llm.requests[0]["messages"] if m["role"] == "user"][0]
    parts = task_turn["content"]
    assert parts[0]["type"] == "text" and "what colour?" in parts[0]["text"]
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    import base64
    back = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert back.getpixel((0, 0)) == (255, 0, 0)


def test_images_with_a_text_only_model_is_a_type_error(llm):
    model = openai_model(llm)
    model.supports_images = False
    with pytest.raises(TypeError, match="does not take images"):
        ToolCallingAgent([], model).run("x", images=[b"\x89PNG..."])


def test_model_constructors_as_smolagents_spells_them(llm):
    # positional (model_id, api_base, api_key), as in smolagents
    llm.script(text("hi"), text("hi"), text("hi"))
    assert OpenAIServerModel("m", llm.base_url, "sk-x").generate([ChatMessage("user", "x")]).content == "hi"
    assert llm.headers[0]["authorization"] == "Bearer sk-x"
    # timeout= (seconds) is a client option, not a request field that breaks the first call
    assert InferenceClientModel("m", base_url=llm.base_url, token="t", timeout=60).generate(
        [ChatMessage("user", "x")]).content == "hi"
    assert "timeout" not in llm.requests[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = HfApiModel("m", base_url=llm.base_url, token="t")
    assert any(issubclass(w.category, FutureWarning) and "InferenceClientModel" in str(w.message) for w in caught)
    assert isinstance(old, InferenceClientModel) and old.generate([ChatMessage("user", "x")]).content == "hi"


def test_keywords_sandcell_differs_on_say_what_to_do_instead(llm):
    with pytest.raises(TypeError, match="verbosity_level"):
        ToolCallingAgent([], openai_model(llm), logger=object())
    with pytest.raises(TypeError, match="ToolCallingAgent"):
        CodeAgent([], openai_model(llm), use_structured_outputs_internally=True)


def test_agent_logger_renders_to_a_given_console():
    from rich.console import Console
    console = Console(file=io.StringIO(), width=80)
    log = AgentLogger(LogLevel.INFO, console)
    log.stream_delta(1, "Thought: hel")
    log.stream_delta(1, "lo")
    log.step(ActionStep(1, Timing(0.0, 1.0), model_output="Thought: hello"), code_agent=False)
    out = console.file.getvalue()
    # one header: the streamed tokens already showed the thought, it is not printed twice
    assert out.count(" Step 1 ") == 1 and out.count("Thought: hel") == 1 and "[Step 1: 1.00s]" in out


def test_custom_role_conversions_rename_roles_on_the_wire(llm):
    llm.script(text("ok"))
    model = OpenAIServerModel("m", llm.base_url, "k", custom_role_conversions={"system": "user"})
    model.generate([ChatMessage("system", "be brief"), ChatMessage("assistant", "hi")])
    assert [m["role"] for m in llm.requests[0]["messages"]] == ["user", "assistant"]


def test_provide_run_summary_reports_how_a_managed_agent_worked(llm):
    llm.script(calls(("helper", {"task": "find it"})),
               calls(("final_answer", {"answer": "found"})),   # the helper's own run
               calls(("final_answer", {"answer": "done"})))
    helper = ToolCallingAgent([], openai_model(llm), name="helper", description="Finds things.",
                              provide_run_summary=True, verbosity_level=-1)
    boss = ToolCallingAgent([], openai_model(llm), managed_agents=[helper], verbosity_level=-1)
    assert boss.run("find it via the helper") == "done"
    report = boss.memory.action_steps()[0].observations
    assert "Here is the final answer from your managed agent 'helper':\nfound" in report
    assert "<summary_of_work>" in report and "find it" in report
