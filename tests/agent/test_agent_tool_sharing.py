"""Issue 15 item 1: sharing tools as code (save/to_dict/from_dict, the Hub), MCP tool
collections, LangChain tools.

The Hub is a loopback stand-in started by tests/agent/conftest.py (HF_ENDPOINT); the
`huggingface_hub` library doing the uploads and downloads is the real one. The MCP servers are
real (the official SDK's MCPServer), started by the tests over stdio and streamable HTTP.
"""
import subprocess
import sys
from pathlib import Path

import pytest
import smolagents
from mcp import StdioServerParameters

from sandcell.agent import CodeAgent, MCPClient, Tool, ToolCallingAgent, ToolCollection, load_tool, tool
from sandcell.agent.hub import ToolLoadError
from scripted_llm import calls, text
from test_agent_smolagents_keywords import code, openai_model

HERE = Path(__file__).parent


@tool
def shout(words: str) -> str:
    """Shouts the words.

    Args:
        words: what to shout
    """
    return words.upper() + "!"


class Repeat(Tool):
    name = "repeat"
    description = "Repeats a text n times."
    inputs = {"text": {"type": "string", "description": "the text"},
              "times": {"type": "integer", "description": "how many times", "nullable": True}}
    output_type = "string"

    def forward(self, text: str, times: int | None = None) -> str:
        import itertools  # imports inside forward: the shared file is self-contained
        return "".join(itertools.repeat(text, times or 2))


class NeedsKey(Tool):
    name = "needs_key"
    description = "Needs a constructor argument."
    inputs = {}
    output_type = "string"

    def __init__(self, key: str):
        self.key = key
        super().__init__()

    def forward(self) -> str:
        return self.key


def test_to_dict_from_dict_round_trip_for_tool_and_subclass():
    d = shout.to_dict()
    assert d["name"] == "shout" and d["requirements"] == ["sandcell"]
    assert d["code"].count("@tool") == 1 and "def shout(words: str) -> str:" in d["code"]
    again = Tool.from_dict(d)
    assert again("hey") == "HEY!" and again.inputs == shout.inputs and again is not shout
    r = Tool.from_dict(Repeat().to_dict())
    assert r(text="ab", times=3) == "ababab" and r.name == "repeat"
    with pytest.raises(ToolLoadError, match="give them defaults"):
        NeedsKey("k").to_dict()


def test_save_writes_tool_py_and_requirements(tmp_path):
    Repeat().save(tmp_path)
    assert (tmp_path / "requirements.txt").read_text() == "sandcell\n"
    code_text = (tmp_path / "tool.py").read_text()
    assert "class Repeat(Tool):" in code_text and "from sandcell.agent import Tool" in code_text
    assert Tool.from_code(code_text)(text="x") == "xx"


def test_push_to_hub_then_load_tool_needs_trust(hub):
    info = shout.push_to_hub("alice/shout", token="hf_alice")
    assert "alice/shout" in str(info)
    files = hub.repos[("space", "alice/shout")]
    assert set(files) == {"tool.py", "requirements.txt", "README.md"}
    assert b"- smolagents" in files["README.md"] and "hf_alice" in hub.tokens_seen
    with pytest.raises(ToolLoadError, match="trust_remote_code=True"):
        load_tool("alice/shout")
    loaded = load_tool("alice/shout", trust_remote_code=True)
    assert loaded("hub") == "HUB!"
    assert Tool.from_hub("alice/shout", trust_remote_code=True).description == shout.description


def test_a_smolagents_tool_file_from_the_hub_loads(hub):
    class Halve(smolagents.Tool):
        name = "halve"
        description = "Halves a number."
        inputs = {"x": {"type": "number", "description": "the number"}}
        output_type = "number"

        def forward(self, x: float) -> float:
            return x / 2

    # smolagents' own serialization, uploaded with huggingface_hub; loaded by us
    from huggingface_hub import CommitOperationAdd, create_commit, create_repo
    create_repo("bob/halve", repo_type="space", space_sdk="gradio", exist_ok=True)
    create_commit("bob/halve", [CommitOperationAdd("tool.py", Halve().to_dict()["code"].encode())],
                  commit_message="smolagents tool", repo_type="space")
    t = load_tool("bob/halve", trust_remote_code=True)
    assert t(x=9) == 4.5 and t.name == "halve"


def test_tool_collection_from_hub(hub):
    shout.push_to_hub("carol/shout")
    Repeat().push_to_hub("carol/repeat")
    hub.add_collection("carol/text-tools-65f0", ["carol/shout", "carol/repeat"])
    with pytest.raises(ToolLoadError, match="trust_remote_code"):
        ToolCollection.from_hub("carol/text-tools-65f0")
    tools = ToolCollection.from_hub("carol/text-tools-65f0", trust_remote_code=True).tools
    assert sorted(t.name for t in tools) == ["repeat", "shout"]


def test_hub_tools_in_an_agent(hub, llm):
    Repeat().push_to_hub("dave/repeat")
    llm.script(calls(("repeat", {"text": "na", "times": 4})), calls(("final_answer", {"answer": "done"})))
    agent = ToolCallingAgent([load_tool("dave/repeat", trust_remote_code=True)], openai_model(llm),
                             verbosity_level=-1)
    assert agent.run("sing") == "done"
    assert agent.memory.action_steps()[0].observations == "Observation for repeat: nananana"


STDIO = StdioServerParameters(command=sys.executable, args=[str(HERE / "mcp_demo_server.py"), "stdio"])


@pytest.fixture
def mcp_http():
    proc = subprocess.Popen([sys.executable, str(HERE / "mcp_demo_server.py"), "http"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(proc.stdout.readline())
        yield {"url": f"http://127.0.0.1:{port}/mcp", "transport": "streamable-http"}
    finally:
        proc.terminate()
        proc.wait(10)


def test_mcp_client_over_stdio():
    with MCPClient(STDIO) as tools:
        by_name = {t.name: t for t in tools}
        assert set(by_name) == {"celsius_to_fahrenheit", "word_count", "fail_always"}
        assert by_name["celsius_to_fahrenheit"](celsius=100) == "212.0 F"
        assert by_name["word_count"].inputs["unique"].get("nullable") is True
        assert by_name["word_count"](text="a b a") == "3" and by_name["word_count"](text="a b a", unique=True) == "2"
        with pytest.raises(Exception, match="fail_always"):
            by_name["fail_always"](reason="no")


def test_tool_collection_from_mcp_over_streamable_http_in_a_code_agent(mcp_http, llm, executor):
    llm.script(text(code("final_answer(celsius_to_fahrenheit(celsius=37))")))
    with ToolCollection.from_mcp(mcp_http, trust_remote_code=True) as collection:
        with CodeAgent(collection.tools, openai_model(llm), executor=executor, verbosity_level=-1) as agent:
            assert agent.run("body temperature in F?") == "98.6 F"
    assert "def celsius_to_fahrenheit(celsius: float) -> str:" in llm.requests[0]["messages"][0]["content"]


def test_from_mcp_needs_trust():
    with pytest.raises(Exception, match="trust_remote_code"):
        with ToolCollection.from_mcp(STDIO):
            pass


def test_mcp_server_that_does_not_start_is_a_clear_error():
    bad = StdioServerParameters(command=sys.executable, args=["-c", "import sys; sys.exit(3)"])
    with pytest.raises(Exception, match="could not connect to the MCP server"):
        MCPClient(bad, connect_timeout_s=20)


def test_langchain_tool():
    from langchain_core.tools import tool as lc_tool

    @lc_tool
    def add_numbers(a: int, b: int) -> int:
        """Adds two numbers."""
        return a + b

    t = Tool.from_langchain(add_numbers)
    assert t.name == "add_numbers" and t.inputs["a"]["type"] == "integer"
    assert t(a=2, b=3) == "5"


def test_from_space_says_what_to_do_instead():
    with pytest.raises(TypeError, match="gradio_client"):
        Tool.from_space("black-forest-labs/FLUX.1-schnell", name="image_generator", description="Generates images")


import json as module_level_json  # noqa: E402  (used below to make a tool that is not self-contained)


@tool
def leaky(x: int) -> str:
    """Uses a module-level import.

    Args:
        x: a number
    """
    return module_level_json.dumps(x)


def test_a_tool_that_is_not_self_contained_is_refused_when_shared():
    assert leaky(3) == "3"  # fine where it was written
    with pytest.raises(ToolLoadError, match="module_level_json"):
        leaky.to_dict()
