"""Issue 15, "done when": the smolagents guide's examples, each run with only its import line
changed (`from smolagents import` -> `from sandcell.agent import`), against the scripted model.

The examples are kept as smolagents source text; the test swaps the import line and runs the
rest unchanged. The model is the loopback scripted server (via OPENAI_BASE_URL, the variable a
user sets for an OpenAI-compatible endpoint), code runs on the test executor ($SANDCELL_EXECUTOR),
web tools reach a loopback server (their endpoint variables), the Hub is the loopback Hub and
the MCP server is a real one started over stdio.
"""
import runpy
import sys
import textwrap
from pathlib import Path

import pytest

from loopback_web import LoopbackWeb, recorded
from scripted_llm import Reply, calls, text

HERE = Path(__file__).parent


def run_example(source: str, env: dict, tmp_path: Path) -> dict:
    """Runs smolagents example code, with its import lines switched to sandcell, as a script
    file (as a user would: tool sharing reads the tool's source); returns its globals."""
    source = textwrap.dedent(source)
    switched = source.replace("from smolagents import", "from sandcell.agent import")
    changed = [(a, b) for a, b in zip(source.splitlines(), switched.splitlines()) if a != b]
    assert changed and all(a.startswith("from smolagents import") for a, _ in changed)  # only the imports
    script = tmp_path / "example.py"
    script.write_text(switched)
    return runpy.run_path(str(script), init_globals=env, run_name="example")


@pytest.fixture
def setting(llm, agent_executor_address, monkeypatch):
    with LoopbackWeb({("POST", "/html/"): recorded("ddg_html_results.html"),
                      ("GET", "/leopard"): recorded("article.html")}) as web:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-example")
        monkeypatch.setenv("SANDCELL_EXECUTOR", agent_executor_address)
        monkeypatch.delenv("SANDCELL_TOKEN", raising=False)
        monkeypatch.setenv("SANDCELL_DDG_SEARCH_URL", web.url + "/html/")
        yield web


def c(body: str, thought: str = "Thought: next") -> str:
    return f"{thought}\n<code>\n{body}\n"


def test_code_agent_with_web_search(llm, setting, tmp_path):
    llm.script(text(c("results = web_search(query='leopard top speed')\nprint(results)")),
               text(c("speed_kmh = 58\ndistance_m = 155\nfinal_answer(round(distance_m / (speed_kmh / 3.6), 1))")))
    ns = run_example('''
        from smolagents import CodeAgent, DuckDuckGoSearchTool, LiteLLMModel

        model = LiteLLMModel(model_id="openai/gpt-4o-mini")
        agent = CodeAgent(tools=[DuckDuckGoSearchTool()], model=model)
        result = agent.run("How many seconds would it take for a leopard at full speed to run through Pont des Arts?")
    ''', {}, tmp_path)
    assert ns["result"] == 9.6
    assert "docs.python.org" in ns["agent"].memory.action_steps()[0].observations


def test_tool_calling_agent(llm, setting, tmp_path):
    page = setting.url + "/leopard"
    llm.script(calls(("visit_webpage", {"url": page})),
               calls(("final_answer", {"answer": "58 km/h"})))
    ns = run_example(f'''
        from smolagents import ToolCallingAgent, VisitWebpageTool, OpenAIServerModel

        model = OpenAIServerModel(model_id="gpt-4o-mini")
        agent = ToolCallingAgent(tools=[VisitWebpageTool()], model=model, verbosity_level=2)
        answer = agent.run("What is a leopard's top speed? Read {page}")
    ''', {}, tmp_path)
    assert ns["answer"] == "58 km/h"
    assert "**58 km/h**" in ns["agent"].memory.action_steps()[0].observations


def test_tool_decorator(llm, setting, tmp_path):
    llm.script(text(c("final_answer(get_weather(location='Paris', celsius=True))")))
    ns = run_example('''
        from smolagents import CodeAgent, LiteLLMModel, tool

        @tool
        def get_weather(location: str, celsius: bool | None = False) -> str:
            """
            Get weather in the next days at given location.

            Args:
                location: the location
                celsius: whether to use Celsius for temperature
            """
            return f"The weather in {location} is sunny with temperatures around {'22°C' if celsius else '72°F'}."

        agent = CodeAgent(tools=[get_weather], model=LiteLLMModel(model_id="openai/gpt-4o-mini"))
        out = agent.run("What's the weather in Paris?")
    ''', {}, tmp_path)
    assert ns["out"] == "The weather in Paris is sunny with temperatures around 22°C."


TOOL_SUBCLASS = '''
    from smolagents import CodeAgent, LiteLLMModel, Tool

    class WordCounterTool(Tool):
        name = "word_counter"
        description = "Counts how often each word occurs in a text and returns the most common one."
        inputs = {"text": {"type": "string", "description": "the text to analyse"}}
        output_type = "string"

        def forward(self, text: str):
            from collections import Counter
            word, count = Counter(text.lower().split()).most_common(1)[0]
            return f"{word} ({count} times)"

    word_counter = WordCounterTool()
'''


def test_tool_subclass(llm, setting, tmp_path):
    llm.script(text(c("final_answer(word_counter(text='to be or not to be'))")))
    ns = run_example(TOOL_SUBCLASS + '''
    agent = CodeAgent(tools=[word_counter], model=LiteLLMModel(model_id="openai/gpt-4o-mini"))
    out = agent.run("Most common word in 'to be or not to be'?")
    ''', {}, tmp_path)
    assert ns["out"] == "to (2 times)"


def test_hub_push_and_load(llm, setting, hub, tmp_path):
    llm.script(text(c("final_answer(word_counter(text='a b b'))")))
    ns = run_example(TOOL_SUBCLASS + '''
    word_counter.push_to_hub("m-ric/word-counter", token="hf_example")

    from smolagents import load_tool, CodeAgent, LiteLLMModel

    loaded = load_tool("m-ric/word-counter", trust_remote_code=True)
    agent = CodeAgent(tools=[loaded], model=LiteLLMModel(model_id="openai/gpt-4o-mini"))
    out = agent.run("Most common word?")
    ''', {}, tmp_path)
    assert ns["out"] == "b (2 times)" and ("space", "m-ric/word-counter") in hub.repos


def test_mcp_tools(llm, setting, tmp_path):
    llm.script(text(c("final_answer(celsius_to_fahrenheit(celsius=100))")))
    ns = run_example('''
        from mcp import StdioServerParameters
        from smolagents import CodeAgent, LiteLLMModel, ToolCollection

        server_parameters = StdioServerParameters(command=PYTHON, args=[SERVER, "stdio"])
        with ToolCollection.from_mcp(server_parameters, trust_remote_code=True) as tool_collection:
            agent = CodeAgent(tools=[*tool_collection.tools], model=LiteLLMModel(model_id="openai/gpt-4o-mini"))
            out = agent.run("Boiling point of water in Fahrenheit?")
    ''', {"PYTHON": sys.executable, "SERVER": str(HERE / "mcp_demo_server.py")}, tmp_path)
    assert ns["out"] == "212.0 F"


def test_planning(llm, setting, tmp_path):
    # planning_interval=2: a plan before steps 1 and 3
    llm.script(text("1. Compute.\n2. Answer.\n<end_plan>"), text(c("x = 21 * 2")), text(c("print(x)")),
               text("Updated plan: answer now.\n<end_plan>"), text(c("final_answer(x)")))
    ns = run_example('''
        from smolagents import CodeAgent, LiteLLMModel, PlanningStep

        agent = CodeAgent(tools=[], model=LiteLLMModel(model_id="openai/gpt-4o-mini"), planning_interval=2)
        out = agent.run("What is 21 times 2?")
        plans = [s for s in agent.memory.steps if isinstance(s, PlanningStep)]
    ''', {}, tmp_path)
    assert ns["out"] == 42 and len(ns["plans"]) == 2
    assert "1. Compute." in ns["plans"][0].plan


def test_managed_agents(llm, setting, tmp_path):
    page = setting.url + "/leopard"
    llm.script(text(c(f"report = web_agent(task='Find the leopard top speed at {page}')\nprint(report)")),
               calls(("visit_webpage", {"url": page})),
               calls(("final_answer", {"answer": "58 km/h according to the page"})),
               text(c("final_answer(report)")))
    ns = run_example('''
        from smolagents import CodeAgent, ToolCallingAgent, LiteLLMModel, VisitWebpageTool

        model = LiteLLMModel(model_id="openai/gpt-4o-mini")
        web_agent = ToolCallingAgent(tools=[VisitWebpageTool()], model=model, max_steps=5, name="web_agent",
                                     description="Browses the web for you. Give it your query as an argument.")
        manager_agent = CodeAgent(tools=[], model=model, managed_agents=[web_agent])
        out = manager_agent.run("How fast can a leopard run?")
    ''', {}, tmp_path)
    assert "58 km/h according to the page" in ns["out"] and "web_agent" in ns["out"]


def test_streaming(llm, setting, tmp_path):
    llm.script(Reply(content=c("final_answer('streamed')", thought="Thought: token by token"), chunk_chars=3))
    ns = run_example('''
        from smolagents import ActionStep, ChatMessageStreamDelta, CodeAgent, FinalAnswerStep, LiteLLMModel

        agent = CodeAgent(tools=[], model=LiteLLMModel(model_id="openai/gpt-4o-mini"), stream_outputs=True)
        deltas, steps, final = [], [], None
        for event in agent.run("Say streamed", stream=True):
            if isinstance(event, ChatMessageStreamDelta):
                deltas.append(event.content or "")
            elif isinstance(event, ActionStep):
                steps.append(event)
            elif isinstance(event, FinalAnswerStep):
                final = event.output
    ''', {}, tmp_path)
    assert ns["final"] == "streamed" and len(ns["deltas"]) > 5
    assert "".join(ns["deltas"]).startswith("Thought: token by token")
