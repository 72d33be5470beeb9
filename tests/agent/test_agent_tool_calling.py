"""ToolCallingAgent and the shared loop, driven by a scripted model (no executor involved)."""
import pytest

from agent import (ActionStep, AgentMaxStepsError, AgentParsingError, AgentToolCallError, AgentToolExecutionError,
                   FinalAnswerStep, ModelError, PlanningStep, RunResult, TaskStep, Timing, ToolCall, ToolCallingAgent,
                   tool)
from fake_model import FakeModel

LOG: list[str] = []


@tool
def add(a: int, b: int) -> int:
    """Adds two integers.

    Args:
        a: first
        b: second
    """
    LOG.append(f"add({a},{b})")
    return a + b


@tool
def explode(reason: str) -> str:
    """Always fails.

    Args:
        reason: why
    """
    raise RuntimeError(f"boom: {reason}")


def agent_with(*replies, **kwargs) -> tuple[ToolCallingAgent, FakeModel]:
    model = FakeModel(*replies, native_tools=kwargs.pop("native_tools", True))
    return ToolCallingAgent([add, explode], model, **kwargs), model


def test_native_tool_calls_then_final_answer():
    agent, model = agent_with([("add", {"a": 2, "b": 3})], [("final_answer", {"answer": "5"})])
    assert agent.run("What is 2+3?") == "5"
    step1 = agent.memory.action_steps()[0]
    assert step1.observations == "Observation for add: 5"
    assert model.calls[0]["tools"] == ["add", "explode", "final_answer"]
    # the second model call saw the first call's observation
    assert "Observation for add: 5" in model.calls[1]["messages"][-1]["content"]


def test_native_calls_with_text_are_both_shown_to_the_model():
    step = ActionStep(1, Timing(0.0, 1.0), model_output="Adding now.",
                      tool_calls=[ToolCall("add", {"a": 1, "b": 2}, "c0")], observations="Observation for add: 3")
    said = [m.content for m in step.to_messages()]
    assert said[0].startswith("Adding now.\nCalling tools:") and '"a": 1' in said[0]
    assert said[1] == "Observation:\nObservation for add: 3"
    # JSON actions written in the text are not repeated
    json_step = ActionStep(1, Timing(0.0, 1.0), model_output='{"name": "add", "arguments": {"a": 1, "b": 2}}',
                           tool_calls=[ToolCall("add", {"a": 1, "b": 2}, "c0")])
    assert "Calling tools" not in json_step.to_messages()[0].content


def test_json_tool_calls_in_text_when_the_model_has_no_native_tools():
    agent, model = agent_with('Action:\n{"name": "add", "arguments": {"a": 1, "b": 1}}',
                              'Action:\n{"name": "final_answer", "arguments": {"answer": 2}}', native_tools=False)
    assert agent.run("1+1?") == 2
    assert model.calls[0]["tools"] == []


def test_several_calls_in_one_step_all_run():
    LOG.clear()
    agent, _ = agent_with([("add", {"a": 1, "b": 2}), ("add", {"a": 10, "b": 20})],
                          [("final_answer", {"answer": "done"})])
    agent.run("sums")
    assert sorted(LOG) == ["add(1,2)", "add(10,20)"]
    assert agent.memory.action_steps()[0].observations == "Observation for add: 3\nObservation for add: 30"


def test_bad_arguments_unknown_tools_and_tool_errors_go_back_to_the_model():
    agent, model = agent_with([("add", {"a": "one", "b": 2})], [("search", {"q": "x"})],
                              [("explode", {"reason": "test"})], "no json here at all",
                              [("final_answer", {"answer": "recovered"})])
    assert agent.run("try things") == "recovered"
    errors = [s.error for s in agent.memory.action_steps()]
    assert isinstance(errors[0], AgentToolCallError) and "should be of type integer" in str(errors[0])
    assert isinstance(errors[1], AgentToolCallError) and "Unknown tool 'search'" in str(errors[1])
    assert isinstance(errors[2], AgentToolExecutionError) and "boom: test" in str(errors[2])
    assert isinstance(errors[3], AgentParsingError)
    assert errors[4] is None
    # each error was shown to the model in the following call
    assert "Unknown tool 'search'" in model.calls[2]["messages"][-1]["content"]
    assert "boom: test" in model.calls[3]["messages"][-1]["content"]


def test_final_answer_with_other_calls_is_rejected():
    agent, _ = agent_with([("add", {"a": 1, "b": 2}), ("final_answer", {"answer": "x"})],
                          [("final_answer", {"answer": "alone"})])
    assert agent.run("t") == "alone"
    assert "must be called alone" in str(agent.memory.action_steps()[0].error)


def test_max_steps_then_answer_from_memory():
    agent, model = agent_with([("add", {"a": 1, "b": 1})], [("add", {"a": 2, "b": 2})], "My best answer: 4",
                              max_steps=2)
    result = agent.run("loop", return_full_result=True)
    assert isinstance(result, RunResult)
    assert result.output == "My best answer: 4" and result.state == "max_steps_error" and not result.success
    last, answer = result.steps[-2:]
    assert isinstance(last, ActionStep) and isinstance(last.error, AgentMaxStepsError)
    assert isinstance(answer, FinalAnswerStep) and answer.output == "My best answer: 4"
    # the last call was the final-answer prompt, with no tools offered
    assert model.calls[-1]["tools"] == [] and "provide an answer" in model.calls[-1]["messages"][-1]["content"]


def test_full_result_has_typed_steps_timing_and_tokens():
    agent, _ = agent_with([("add", {"a": 1, "b": 1})], [("final_answer", {"answer": 2})])
    result = agent.run("t", return_full_result=True)
    assert result.state == "success" and result.output == 2
    assert [type(s) for s in result.steps] == [TaskStep, ActionStep, ActionStep, FinalAnswerStep]
    assert result.steps[-1].output == 2
    assert result.token_usage.input_tokens == 20 and result.token_usage.output_tokens == 10
    assert result.timing.duration_s >= 0
    assert all(s.timing.duration_s is not None for s in result.steps[1:3])
    full = agent.memory.get_full_steps()
    assert full[1]["tool_calls"][0]["function"]["name"] == "add"
    assert full[-1] == {"type": "final_answer", "output": 2}


def test_step_callbacks_list_and_dict_with_optional_agent_argument():
    seen, planned, answered = [], [], []
    agent, _ = agent_with("1. add\n2. answer", [("add", {"a": 1, "b": 1})], [("final_answer", {"answer": 2})],
                          step_callbacks={ActionStep: [lambda step: seen.append(step.step_number)],
                                          PlanningStep: lambda step, agent: planned.append(agent.name),
                                          FinalAnswerStep: lambda step: answered.append(step.output)},
                          planning_interval=5, name="calc", description="adds")
    agent.run("t")
    assert seen == [1, 2] and planned == ["calc"] and answered == [2]


def test_streaming_yields_planning_action_and_final_steps():
    agent, model = agent_with("1. add\n2. answer<end_plan>", [("add", {"a": 1, "b": 1})],
                              "1. answer now", [("final_answer", {"answer": 2})], planning_interval=1)
    events = list(agent.run("t", stream=True))
    assert [type(e) for e in events] == [PlanningStep, ActionStep, PlanningStep, ActionStep, FinalAnswerStep]
    assert events[-1].output == 2
    assert model.calls[0]["stop"] == ["<end_plan>"]
    assert "1. add" in events[0].plan
    # the update plan sees how many steps are left
    assert "steps left" in model.calls[2]["messages"][-1]["content"]


def test_model_errors_abort_the_run():
    agent, _ = agent_with(ModelError("provider down", status_code=503))
    with pytest.raises(ModelError, match="provider down"):
        agent.run("t")


def test_final_answer_checks_can_reject():
    agent, _ = agent_with([("final_answer", {"answer": "no"})], [("final_answer", {"answer": "yes"})],
                          final_answer_checks=[lambda answer, memory: answer == "yes"])
    assert agent.run("t") == "yes"
    assert "rejected" in str(agent.memory.action_steps()[0].error)


def test_an_agent_is_usable_as_a_tool_of_another_agent():
    helper, helper_model = agent_with([("add", {"a": 20, "b": 22})], [("final_answer", {"answer": "42"})],
                                      name="calculator", description="Does arithmetic.")
    boss_model = FakeModel([("calculator", {"task": "add 20 and 22"})], [("final_answer", {"answer": "it is 42"})])
    boss = ToolCallingAgent([], boss_model, managed_agents=[helper])
    assert boss.run("ask the calculator") == "it is 42"
    obs = boss.memory.action_steps()[0].observations
    assert "managed agent 'calculator'" in obs and "42" in obs
    assert "add 20 and 22" in helper_model.calls[0]["messages"][1]["content"]


def test_duplicate_tool_names_are_refused():
    with pytest.raises(ValueError, match="two tools"):
        ToolCallingAgent([add, add], FakeModel())


def test_over_http_native_calls_json_in_text_and_an_error_in_one_run(llm):
    """A real LiteLLMModel against the loopback server: two native calls in one step, a JSON
    action written in text, a bad call the model then fixes, and a native final_answer."""
    from agent import LiteLLMModel, RetryPolicy
    from scripted_llm import calls, text

    model = LiteLLMModel("openai/scripted-model", api_base=llm.base_url, api_key="sk-test",
                         retry=RetryPolicy(base_delay_s=0.01))
    llm.script(calls(("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4})),
               text('Action:\n{"name": "add", "arguments": {"a": 3, "b": 7}}'),
               calls(("add", {"a": "ten"})),
               calls(("final_answer", {"answer": "3, 7 and 10"})))
    agent = ToolCallingAgent([add], model)
    result = agent.run("add things", return_full_result=True)
    assert result.output == "3, 7 and 10" and result.state == "success"
    steps = agent.memory.action_steps()
    assert steps[0].observations == "Observation for add: 3\nObservation for add: 7"
    assert steps[1].observations == "Observation for add: 10"
    assert isinstance(steps[2].error, AgentToolCallError)
    sent = llm.requests[0]
    assert [t["function"]["name"] for t in sent["tools"]] == ["add", "final_answer"]
    assert sent["tool_choice"] == "required"
    # the model saw its own native calls and their observations, and the validation error
    seen = "\n".join(m["content"] for m in llm.requests[3]["messages"])
    assert '"name": "add"' in seen and "Observation for add: 7" in seen and "should be of type integer" in seen
    assert result.token_usage.input_tokens == 44
