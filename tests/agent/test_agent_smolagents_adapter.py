"""smolagents' own CodeAgent running its code through our executor (SandcellExecutor)."""
import os

import pytest
from smolagents import CodeAgent as SmolCodeAgent
from smolagents import OpenAIServerModel as SmolOpenAIServerModel
from smolagents import Tool as SmolTool
from smolagents import tool as smol_tool

from agent.smolagents_adapter import SandcellExecutor
from scripted_llm import text


@smol_tool
def word_length(word: str) -> int:
    """Counts the letters of a word.

    Args:
        word: the word
    """
    return len(word)


class Counter(SmolTool):
    name = "bump"
    description = "Increments a counter kept in the host process and returns it."
    inputs = {}
    output_type = "integer"

    def __init__(self):
        super().__init__()
        self.count = 0
        self.pids = []

    def forward(self):
        self.count += 1
        self.pids.append(os.getpid())
        return self.count


def smol_model(llm):
    return SmolOpenAIServerModel(model_id="scripted-model", api_base=llm.base_url, api_key="sk-smol")


def code(body: str) -> str:
    return f"Thought: go\n<code>\n{body}\n</code>"


def test_smolagents_code_agent_runs_on_sandcell(llm, executor):
    counter = Counter()
    llm.script(text(code("n = word_length(word='sandcell')\nbump()\nprint('n =', n)")),
               text(code("boom = 1 / 0")),
               text(code("final_answer(n * bump())")))
    sandbox = SandcellExecutor(executor=executor)
    with SmolCodeAgent(tools=[word_length, counter], model=smol_model(llm), executor=sandbox, max_steps=5) as agent:
        assert agent.run("How long is 'sandcell', times two?") == 16
        steps = agent.memory.steps
    # tools ran here (their state too), state persisted across steps, the error went to the model
    assert counter.count == 2 and counter.pids == [os.getpid()] * 2
    assert "n = 8" in steps[1].observations
    assert "ZeroDivisionError" in str(steps[2].error)
    assert sandbox.session is None  # cleanup() closed it


def test_adapter_contract_directly(executor):
    sandbox = SandcellExecutor(executor=executor)
    try:
        sandbox.send_tools({"word_length": word_length})
        sandbox.send_variables({"base": 40, "image.png": "skipped: not a name"})
        out = sandbox("x = base + word_length(word='ab')\nprint('x is', x)\nx")
        assert (out.output, out.logs, out.is_final_answer) == (42, "x is 42\n", False)
        final = sandbox("try:\n    final_answer(x)\nexcept Exception:\n    pass")
        assert final.is_final_answer and final.output == 42
        with pytest.raises(Exception, match="NameError"):
            sandbox("undefined_name")
    finally:
        sandbox.cleanup()
