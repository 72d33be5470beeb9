"""smolagents' own CodeAgent running its code through our executor (SandcellExecutor)."""
import os

import pytest
from smolagents import CodeAgent as SmolCodeAgent
from smolagents import OpenAIServerModel as SmolOpenAIServerModel
from smolagents import Tool as SmolTool
from smolagents import tool

from agent.smolagents_adapter import SandcellExecutor
from scripted_llm import text


@tool
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
               text(code("final_answer(n * bump() * factor)")))
    sandbox = SandcellExecutor(executor=executor)
    with SmolCodeAgent(tools=[word_length, counter], model=smol_model(llm), executor=sandbox, max_steps=5) as agent:
        # additional_args reach the sandbox as variables (smolagents sends them before the tools)
        assert agent.run("How long is 'sandcell', times two, times factor?", additional_args={"factor": 3}) == 48
        steps = agent.memory.steps
    # tools ran here (their state too), state persisted across steps, the error went to the model
    assert counter.count == 2 and counter.pids == [os.getpid()] * 2
    assert "n = 8" in steps[1].observations
    assert "ZeroDivisionError" in str(steps[2].error)
    assert sandbox.session is None  # cleanup() closed it


class LabelledFinalAnswer(SmolTool):
    name = "final_answer"
    description = "Gives the final answer, labelled."
    inputs = {"answer": {"type": "any", "description": "the answer"}}
    output_type = "string"

    def forward(self, answer):
        return f"answer: {answer}"


def test_adapter_contract_directly(executor):
    sandbox = SandcellExecutor(executor=executor)
    try:
        # smolagents' order: variables first, then tools (which start the session they live in)
        sandbox.send_variables({"base": 40, "image.png": "skipped: not a name"})
        sandbox.send_tools({"word_length": word_length, "final_answer": LabelledFinalAnswer()})
        out = sandbox("x = base + word_length(word='ab')\nprint('x is', x)\nx")
        assert (out.output, out.logs, out.is_final_answer) == (42, "x is 42\n", False)
        final = sandbox("try:\n    final_answer(x)\nexcept Exception:\n    pass")
        # the custom final_answer tool ran here, on the value the sandbox gave
        assert final.is_final_answer and final.output == "answer: 42"
        with pytest.raises(Exception, match="NameError"):
            sandbox("undefined_name")
    finally:
        sandbox.cleanup()
