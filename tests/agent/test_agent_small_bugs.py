"""Issue 15 item 5: the smaller bugs seen while trying sandcell as a smolagents user."""
from smolagents import CodeAgent as SmolCodeAgent

from sandcell.agent import CodeAgent
from sandcell.agent.smolagents_adapter import SandcellExecutor
from scripted_llm import text
from test_agent_smolagents_adapter import code as smol_code
from test_agent_smolagents_adapter import smol_model
from test_agent_smolagents_keywords import code, openai_model


def test_adapter_takes_the_extra_imports_from_the_agent(llm, executor):
    llm.script(text(smol_code("import json\nfinal_answer(json.dumps({'a': 1}))")))
    sandbox = SandcellExecutor(executor=executor)  # no imports given here: only on the agent
    with SmolCodeAgent(tools=[], model=smol_model(llm), executor=sandbox, additional_authorized_imports=["json"],
                       max_steps=2, verbosity_level=-1) as agent:
        assert agent.run("dump a dict as JSON") == '{"a": 1}'
        assert "json" in sandbox.session.info.allowed_imports
    assert sandbox.additional_imports == ["json"]


def test_adapter_with_an_embedded_executor_gets_a_ceiling_that_admits_the_agents_imports(llm):
    llm.script(text(smol_code("import json\nfinal_answer(json.loads('[1, 2]'))")))
    with SmolCodeAgent(tools=[], model=smol_model(llm), executor=SandcellExecutor(),
                       additional_authorized_imports=["json"], max_steps=2, verbosity_level=-1) as agent:
        assert agent.run("parse") == [1, 2]


def test_restore_sentence_is_said_once_after_a_hard_kill(llm, executor):
    llm.script(text(code("x = 5\nprint(x)")), text(code("sum(range(10**12))")), text(code("final_answer(x)")))
    with CodeAgent([], openai_model(llm), executor=executor, wall_timeout_ms=1500, verbosity_level=-1) as agent:
        assert agent.run("keep x through a kill") == 5
    error = str(agent.memory.action_steps()[1].error)
    assert error.count("restored") == 1, error
    # and the model was told so once, in the turn after the failing step
    told = [m["content"] for m in llm.requests[2]["messages"] if m["role"] == "user"][-1]
    assert told.count("restored") == 1, told


def test_hard_kill_message_names_the_executes_own_limit(executor):
    with executor.client.create_session() as s:  # the server's default session limit (30 s here)
        assert s.info.limits.wall_timeout_ms > 1500
        r = s.execute("sum(range(10**12))", wall_timeout_ms=1500)  # a C-level loop: only a kill stops it
        assert r.status == "timeout"
        assert "wall-clock limit of 1.5 s" in r.message, r.message
        assert f"{s.info.limits.wall_timeout_ms / 1000:g} s" not in r.message
