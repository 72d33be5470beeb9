"""Issue 15 item 1: smolagents' built-in tools under the same names, and smolagents' own tool
objects accepted wherever ours are.

The networked tools talk, through their real client libraries (ddgs, requests + markdownify,
wikipedia-api over httpx), to a loopback HTTP server serving pages in the services' formats
(tests/agent/recorded/: made by hand after the real responses, as this machine has no network).
"""
import io
import json

import pytest
import smolagents

from sandcell.agent import (CodeAgent, DuckDuckGoSearchTool, FinalAnswerTool, PythonInterpreterTool, Tool,
                            ToolCallingAgent, UserInputTool, VisitWebpageTool, WikipediaSearchTool)
from sandcell.agent.tools import as_tool
from loopback_web import RECORDED, LoopbackWeb, recorded
from scripted_llm import calls, text
from test_agent_smolagents_keywords import code, openai_model


def _mediawiki(seen):
    title = seen.query["titles"][0]
    if title != "Leopard":
        return 200, "application/json", json.dumps(
            {"batchcomplete": "", "query": {"pages": {"-1": {"ns": 0, "title": title, "missing": ""}}}}).encode()
    name = {"info": "wikipedia_info_leopard.json", "extracts": "wikipedia_extracts_leopard.json"}
    return 200, "application/json", (RECORDED / name[seen.query["prop"][0]]).read_bytes()


@pytest.fixture
def web():
    with LoopbackWeb({("POST", "/html/"): recorded("ddg_html_results.html"),
                      ("GET", "/leopard"): recorded("article.html"),
                      ("GET", "/w/api.php"): _mediawiki}) as server:
        yield server


def test_duckduckgo_search_through_ddgs(web):
    tool = DuckDuckGoSearchTool(max_results=5, rate_limit=None, search_url=web.url + "/html/")
    out = tool("python sandbox")
    assert out.startswith("## Search Results\n\n")
    assert "[sys — System-specific parameters and functions](https://docs.python.org/3/library/sys.html)\n" \
           "This module provides access to some variables used or maintained by the interpreter." in out
    assert "Sandbox (computer security)" in out
    assert web.seen[-1].method == "POST" and web.seen[-1].form["q"] == ["python sandbox"]
    assert tool.name == "web_search" and tool.inputs == smolagents.DuckDuckGoSearchTool.inputs


def test_duckduckgo_search_endpoint_from_the_environment(web, monkeypatch):
    monkeypatch.setenv("SANDCELL_DDG_SEARCH_URL", web.url + "/html/")
    assert "docs.python.org" in DuckDuckGoSearchTool(rate_limit=None)("sys module")


def test_visit_webpage_reads_markdown_and_reports_http_errors(web):
    tool = VisitWebpageTool()
    page = tool(web.url + "/leopard")
    assert "The leopard\n===========" in page and "**58 km/h**" in page
    assert "[the encyclopedia entry](https://en.wikipedia.org/wiki/Leopard)" in page and "\n\n\n" not in page
    assert "font-family" not in page
    assert tool(web.url + "/gone").startswith("Error fetching the webpage: 404")
    short = VisitWebpageTool(max_output_length=20)(web.url + "/leopard")
    assert short.endswith("_This content has been truncated to stay below 20 characters_...\n")


def test_wikipedia_search_through_wikipedia_api(web):
    full = WikipediaSearchTool(api_url=web.url + "/w/api.php")("Leopard")
    assert full.startswith("✅ **Wikipedia Page:** Leopard") and "Characteristics" in full
    assert full.endswith("🔗 **Read more:** https://en.wikipedia.org/wiki/Leopard")
    summary = WikipediaSearchTool(api_url=web.url + "/w/api.php", content_type="summary")("Leopard")
    assert "Panthera pardus" in summary and "Characteristics" not in summary
    assert WikipediaSearchTool(api_url=web.url + "/w/api.php")("Nothing here") == \
        "No Wikipedia page found for 'Nothing here'. Try a different query."
    assert any(s.query.get("prop") == ["extracts"] and s.headers["user-agent"].startswith("sandcell-agent")
               for s in web.seen)


def test_python_interpreter_tool_runs_code_in_the_sandbox(executor):
    tool = PythonInterpreterTool(executor=executor)
    try:
        assert tool("x = 6 * 7\nprint('x is', x)\nx") == "Stdout:\nx is 42\n\nOutput: 42"
        assert tool("x + 1").endswith("Output: 43")  # a session: state persists between calls
        with pytest.raises(RuntimeError, match="subprocess"):
            tool("import subprocess")  # not this process's interpreter: the sandbox's policy holds
    finally:
        tool.close()


def test_user_input_tool_asks_on_stdin(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("blue\n"))
    assert UserInputTool()("Favourite colour?") == "blue"
    assert "Favourite colour? => Type your answer here:" in capsys.readouterr().out


def test_add_base_tools_matches_smolagents(llm):
    tc = ToolCallingAgent([], openai_model(llm), add_base_tools=True, verbosity_level=-1)
    assert set(tc.tools) == {"python_interpreter", "web_search", "visit_webpage", "final_answer"}
    ca = CodeAgent([], openai_model(llm), add_base_tools=True, verbosity_level=-1)
    assert set(ca.tools) == {"web_search", "visit_webpage", "final_answer"}  # it writes Python itself
    assert isinstance(ca.tools["final_answer"], FinalAnswerTool)


def test_code_agent_uses_base_search_tool_from_sandboxed_code(llm, executor, web, monkeypatch):
    monkeypatch.setenv("SANDCELL_DDG_SEARCH_URL", web.url + "/html/")
    llm.script(text(code("r = web_search(query='python sys module')\nprint(r)")),
               text(code("final_answer('docs.python.org' in r)")))
    with CodeAgent([], openai_model(llm), executor=executor, add_base_tools=True, verbosity_level=-1) as agent:
        assert agent.run("is the sys module documented?") is True
    assert "docs.python.org" in agent.memory.action_steps()[0].observations


# ---- smolagents' own tools, as ours ----
@smolagents.tool
def multiply(a: int, b: int) -> int:
    """Multiplies two integers.

    Args:
        a: first factor
        b: second factor
    """
    return a * b


class Reverse(smolagents.Tool):
    name = "reverse"
    description = "Reverses a string."
    inputs = {"text": {"type": "string", "description": "the text"}}
    output_type = "string"

    def forward(self, text: str) -> str:
        return text[::-1]


def test_smolagents_tools_in_a_code_agent(llm, executor):
    llm.script(text(code("final_answer(reverse(text=str(multiply(a=6, b=7))))")))
    with CodeAgent([multiply, Reverse()], openai_model(llm), executor=executor, verbosity_level=-1) as agent:
        assert agent.run("reverse 6*7") == "24"
    system = llm.requests[0]["messages"][0]["content"]
    assert "def multiply(a: int, b: int) -> int:" in system and "def reverse(text: str) -> str:" in system


def test_smolagents_tools_in_a_tool_calling_agent(llm):
    llm.script(calls(("multiply", {"a": 3, "b": 5})), calls(("final_answer", {"answer": "15"})))
    agent = ToolCallingAgent([multiply], openai_model(llm), verbosity_level=-1)
    assert agent.run("3*5") == "15"
    assert agent.memory.action_steps()[0].observations == "Observation for multiply: 15"
    schema = llm.requests[0]["tools"][0]["function"]
    assert schema["name"] == "multiply" and schema["parameters"]["required"] == ["a", "b"]


def test_smolagents_default_tools_are_accepted_too(web):
    smol = smolagents.VisitWebpageTool()
    ours = as_tool(smol)
    assert isinstance(ours, Tool) and ours.name == "visit_webpage"
    assert "The leopard" in ours(url=web.url + "/leopard")


def test_things_that_are_not_tools_say_what_to_do():
    def plain(x: int) -> int:
        """Doc."""
        return x
    with pytest.raises(TypeError, match="@tool"):
        as_tool(plain)
    with pytest.raises(TypeError, match="not a tool"):
        as_tool(42)
