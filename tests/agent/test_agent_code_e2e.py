"""CodeAgent end to end: a real model client over loopback HTTP, real gRPC to a real executor."""
import os
import subprocess
import sys
import time

import pytest
from sandcell.client import Limits, Unauthenticated

from agent import (AgentExecutionError, AgentMaxStepsError, AgentParsingError, CodeAgent, ExecutorConnection,
                   ExecutorStartError, OpenAIServerModel, open_executor,
                   RetryPolicy, Tool, ToolCallingAgent, tool)
from fake_model import FakeModel
from scripted_llm import text


def model_for(llm) -> OpenAIServerModel:
    return OpenAIServerModel("scripted-model", api_base=llm.base_url, api_key="sk-test",
                             retry=RetryPolicy(base_delay_s=0.01))


def code(body: str, thought: str = "Thought: next step") -> str:
    # the stop sequence "</code>" means real servers return the block unclosed
    return f"{thought}\n<code>\n{body}\n"


def user_turns(request) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "user"]


def test_multi_step_task_later_steps_use_earlier_variables(llm, executor):
    llm.script(text(code("data = [3, 4, 5]\nprint('sum is', sum(data))")),
               text(code("total = sum(data) * 2\ntotal")),
               text(code("final_answer(total)")))
    with CodeAgent([], model_for(llm), executor=executor) as agent:
        result = agent.run("Double the sum of 3, 4 and 5.", return_full_result=True)
    assert result.output == 24 and result.state == "success"
    first, second, third = agent.memory.action_steps()
    assert first.observations == "Execution logs:\nsum is 12\n\nLast output from code snippet:\nNone"
    assert second.observations.endswith("Last output from code snippet:\n24")
    assert third.is_final_answer
    # what the model was told: the observation of step 1 reached its second call
    assert "sum is 12" in user_turns(llm.requests[1])[-1]
    assert llm.requests[0]["stop"] == ["Observation:", "Calling tools:", "</code>"]
    assert result.token_usage.input_tokens == 33
    assert agent.memory.full_code().startswith("data = [3, 4, 5]")


def test_system_prompt_lists_tools_and_allowed_imports(llm, executor):
    @tool
    def shout(words: str) -> str:
        """Upper-cases words.

        Args:
            words: what to shout
        """
        return words.upper()

    llm.script(text(code("final_answer(shout(words='hi'))")))
    with CodeAgent([shout], model_for(llm), executor=executor, additional_authorized_imports=["json"]) as agent:
        assert agent.run("shout hi") == "HI"
        allowed = agent.session.info.allowed_imports
    system = llm.requests[0]["messages"][0]["content"]
    assert "def shout(words: str) -> str:" in system and "def final_answer(answer: Any) -> Any:" in system
    assert "json" in allowed and "math" in allowed
    assert all(m in system for m in allowed)


class PriceLookup(Tool):
    """Holds a client-side secret and records where it ran."""

    name = "price_of"
    description = "Looks up the price of an item in the shop's private API."
    inputs = {"item": {"type": "string", "description": "item name"}}
    output_type = "number"

    def __init__(self, api_key: str):
        self.api_key = api_key
        self.ran_in: list[int] = []
        super().__init__()

    def forward(self, item: str) -> float:
        self.ran_in.append(os.getpid())
        assert self.api_key == "secret-key"  # state and secrets stay in the agent process
        return {"apple": 0.5, "pear": 0.75}[item]


def test_tool_called_from_sandboxed_code_runs_in_the_agent_process(llm, executor):
    prices = PriceLookup(api_key="secret-key")
    llm.script(text(code("total = price_of(item='apple') * 2 + price_of('pear')\nprint(total)")),
               text(code("try:\n    price_of(item='durian')\nexcept ToolError as e:\n    print('tool failed:', e)")),
               text(code("final_answer(total)")))
    with CodeAgent([prices], model_for(llm), executor=executor) as agent:
        assert agent.run("Price of two apples and a pear?") == 1.75
    assert prices.ran_in == [os.getpid()] * 3
    second = agent.memory.action_steps()[1]
    assert "tool failed:" in second.observations and "durian" in second.observations


def test_bad_tool_arguments_raise_inside_the_code(llm, executor):
    prices = PriceLookup(api_key="secret-key")
    llm.script(text(code("price_of(item=3)")), text(code("final_answer('ok')")))
    with CodeAgent([prices], model_for(llm), executor=executor) as agent:
        assert agent.run("t") == "ok"
    err = agent.memory.action_steps()[0].error
    assert isinstance(err, AgentExecutionError) and "should be of type string" in str(err)


def test_the_model_recovers_from_an_error_with_its_line_number(llm, executor):
    llm.script(text(code("x = 10\nprint('before')\ny = x / 0")),
               text(code("final_answer(x + 1)")))
    with CodeAgent([], model_for(llm), executor=executor) as agent:
        assert agent.run("t") == 11
    failed = agent.memory.action_steps()[0]
    assert isinstance(failed.error, AgentExecutionError)
    assert "line 3" in str(failed.error) and "ZeroDivisionError" in str(failed.error)
    assert "before" in failed.observations  # output printed before the error is kept
    told = user_turns(llm.requests[1])[-1]
    assert "ZeroDivisionError" in told and "line 3" in told and "Now let's retry" in told


def test_forbidden_import_is_an_observation_not_a_crash(llm, executor):
    llm.script(text(code("import os\nos.listdir('/')")), text(code("final_answer('gave up on os')")))
    with CodeAgent([], model_for(llm), executor=executor) as agent:
        assert agent.run("t") == "gave up on os"
    assert "os" in str(agent.memory.action_steps()[0].error)


def test_parsing_failure_goes_back_to_the_model(llm, executor):
    llm.script(text("I think the sum is probably around ten."), text(code("final_answer(10)")))
    with CodeAgent([], model_for(llm), executor=executor) as agent:
        assert agent.run("t") == 10
    assert isinstance(agent.memory.action_steps()[0].error, AgentParsingError)
    assert "<code>" in user_turns(llm.requests[1])[-1]


def test_malformed_code_is_a_syntax_error_observation(llm, executor):
    llm.script(text(code("values = [1, 2\nprint(values)")), text("Thought: fix it\n<code>\n</code>"),
               text(code("values = [1, 2]\nfinal_answer(len(values))")))
    with CodeAgent([], model_for(llm), executor=executor) as agent:
        assert agent.run("t") == 2
    syntax, empty = (s.error for s in agent.memory.action_steps()[:2])
    assert isinstance(syntax, AgentExecutionError) and "SyntaxError" in str(syntax) and "line 1" in str(syntax)
    assert isinstance(empty, AgentParsingError)  # an empty block is no action either
    assert "SyntaxError" in user_turns(llm.requests[1])[-1]


def test_final_answer_inside_try_except_is_not_swallowed(llm, executor):
    llm.script(text(code("try:\n    final_answer({'answer': 42})\nexcept Exception:\n    print('swallowed')\n"
                         "except BaseException:\n    print('swallowed too')\nprint('after')")))
    with CodeAgent([], model_for(llm), executor=executor) as agent:
        assert agent.run("t") == {"answer": 42}
    assert "swallowed" not in (agent.memory.action_steps()[0].observations or "")


def test_max_steps_reached_asks_for_an_answer_from_memory(llm, executor):
    llm.script(text(code("n = 1")), text(code("n += 1")), text("Probably n is 2."))
    with CodeAgent([], model_for(llm), executor=executor, max_steps=2) as agent:
        result = agent.run("count", return_full_result=True)
    assert result.state == "max_steps_error" and result.output == "Probably n is 2."
    assert isinstance(result.steps[-2].error, AgentMaxStepsError) and result.steps[-1].output == "Probably n is 2."
    assert len(llm.requests) == 3 and "n += 1" in llm.requests[2]["messages"][-2]["content"]


def test_additional_args_become_sandbox_variables(llm, executor):
    llm.script(text(code("final_answer(numbers[1] * factor)")))
    with CodeAgent([], model_for(llm), executor=executor) as agent:
        assert agent.run("t", additional_args={"numbers": [1, 2, 3], "factor": 10}) == 20


def test_a_managed_agent_is_called_from_sandboxed_code(llm, executor):
    helper = ToolCallingAgent([], FakeModel([("final_answer", {"answer": "Paris"})]),
                              name="geographer", description="Answers geography questions.")
    llm.script(text(code("report = geographer(task='capital of France?')\nfinal_answer(report)")))
    with CodeAgent([], model_for(llm), executor=executor, managed_agents=[helper]) as agent:
        answer = agent.run("ask the geographer")
    assert "Paris" in answer and "geographer" in answer
    assert "def geographer(task: str, additional_args: dict | None) -> str:" in llm.requests[0]["messages"][0]["content"]


class ShoutingFinalAnswer(Tool):
    """A user's own final_answer: it formats answers and refuses empty ones."""

    name = "final_answer"
    description = "Gives the final answer, upper-cased."
    inputs = {"answer": {"type": "any", "description": "the answer"}}
    output_type = "string"

    def forward(self, answer):
        if not answer:
            raise ValueError("an empty answer is not an answer")
        return str(answer).upper()


def test_a_custom_final_answer_tool_runs_on_the_answer(llm, executor):
    llm.script(text(code("final_answer('')")), text(code("final_answer('paris')")))
    with CodeAgent([ShoutingFinalAnswer()], model_for(llm), executor=executor) as agent:
        assert agent.run("capital of France?") == "PARIS"
    rejected = agent.memory.action_steps()[0]
    assert "empty answer is not an answer" in str(rejected.error) and not rejected.is_final_answer
    assert "empty answer" in user_turns(llm.requests[1])[-1]


def test_live_output_and_before_execute_hooks(llm, executor):
    printed, parsed = [], []
    llm.script(text(code("for i in range(3):\n    print('line', i)\nfinal_answer(i)")))
    with CodeAgent([], model_for(llm), executor=executor, on_output=lambda s, t: printed.append(t),
                   before_execute=lambda step: parsed.append(step.code_action)) as agent:
        assert agent.run("t") == 2
    assert "".join(printed) == "line 0\nline 1\nline 2\n"
    assert parsed == ["for i in range(3):\n    print('line', i)\nfinal_answer(i)"]


def test_state_persists_across_runs_and_the_session_closes_on_exit(llm, executor):
    llm.script(text(code("memo = 'kept'\nfinal_answer(1)")), text(code("final_answer(memo)")))
    agent = CodeAgent([], model_for(llm), executor=executor)
    agent.run("first")
    assert agent.run("second") == "kept"
    sid = agent.session.id
    assert any(s.session_id == sid for s in executor.client.list_sessions())
    agent.close()
    assert not any(s.session_id == sid for s in executor.client.list_sessions())


def test_embedded_local_executor_is_started_and_cleaned_up(monkeypatch):
    monkeypatch.delenv("SANDCELL_EXECUTOR", raising=False)
    # json is outside the server's default allowlist: the embedded executor's ceiling must admit it
    model = FakeModel(code("import json, math\nfinal_answer(json.loads(json.dumps(math.factorial(5))))"))
    agent = CodeAgent([], model, executor="local", additional_authorized_imports=["json"])
    try:
        assert agent.run("5!") == 120
        conn = agent._conn
        assert conn.owns_process and conn.process.proc.poll() is None
        assert "json" in agent.session.info.allowed_imports
        # the token is not on its command line, which every local user can read in /proc
        # (and where a token beginning with "-" was once taken for a flag)
        cmdline = open(f"/proc/{conn.process.pid}/cmdline", "rb").read().decode()
        assert conn.token not in cmdline and "--token" not in cmdline
        # it is guarded by a random token: a second client gets in with it, and not without it
        monkeypatch.setenv("SANDCELL_EXECUTOR", conn.address)
        monkeypatch.setenv("SANDCELL_TOKEN", conn.token)
        with open_executor() as other:
            assert any(s.session_id == agent.session.id for s in other.client.list_sessions())
        monkeypatch.setenv("SANDCELL_TOKEN", "wrong-token")
        with open_executor() as intruder, pytest.raises(Unauthenticated):
            intruder.client.list_sessions()
    finally:
        agent.close()
    assert conn.process.proc.poll() is not None  # stopped with the agent


def test_timeout_is_reported_to_the_model(llm, executor):
    llm.script(text(code("while True:\n    pass")), text(code("final_answer('stopped looping')")))
    with CodeAgent([], model_for(llm), executor=executor, wall_timeout_ms=500) as agent:
        assert agent.run("t") == "stopped looping"
    err = str(agent.memory.action_steps()[0].error)
    # the executor's own words, which say which limit and how to act on it
    assert "limit" in err and "0.5 s" in err


@pytest.mark.parametrize("tags", [("<code>", "</code>"), ("```py", "```")])
def test_markdown_fences_are_accepted_too(llm, executor, tags):
    llm.script(text("Thought: fenced\n```py\nfinal_answer('fenced')\n```"))
    with CodeAgent([], model_for(llm), executor=executor, code_block_tags=tags) as agent:
        assert agent.run("t") == "fenced"


def test_an_executor_that_cannot_start_is_a_clear_error():
    with pytest.raises(ExecutorStartError, match="did not start") as info:
        ExecutorConnection.start_local("--no-such-flag", startup_timeout_s=30)
    assert "--no-such-flag" in str(info.value)  # the server's own complaint, from its log


def test_executor_address_and_token_come_from_the_environment(agent_executor_address, monkeypatch):
    monkeypatch.setenv("SANDCELL_EXECUTOR", agent_executor_address)
    with open_executor() as conn:
        assert not conn.owns_process and conn.address == agent_executor_address
        assert conn.client.health()


DYING_AGENT = """
import os, sys
sys.path.insert(0, {testdir!r})
from agent import CodeAgent
from fake_model import FakeModel
from sandcell.client import Limits, Unauthenticated
agent = CodeAgent([], FakeModel("<code>\\nfinal_answer(1)\\n"), executor={address!r},
                  limits=Limits(idle_ttl_ms=1500))
agent.run("t")
print(agent.session.id, flush=True)
os._exit(0)  # dies without closing anything
"""


def test_sessions_of_an_agent_that_died_are_reaped_by_ttl(agent_executor_address, executor):
    script = DYING_AGENT.format(testdir=os.path.dirname(__file__), address=agent_executor_address)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    sid = proc.stdout.strip()
    assert proc.returncode == 0 and sid, proc.stderr
    deadline = time.monotonic() + 30
    while any(s.session_id == sid for s in executor.client.list_sessions()):
        assert time.monotonic() < deadline, "the orphaned session was not reaped"
        time.sleep(0.5)


def test_an_expired_session_is_recreated_and_the_model_is_told(llm, executor):
    llm.script(text(code("memo = 1\nfinal_answer(memo)")), text(code("final_answer(42)")))
    with CodeAgent([], model_for(llm), executor=executor, limits=Limits(idle_ttl_ms=1000)) as agent:
        agent.run("first")
        time.sleep(3)
        assert agent.run("second") == 42
    assert "expired and was recreated" in agent.memory.action_steps()[0].observations
