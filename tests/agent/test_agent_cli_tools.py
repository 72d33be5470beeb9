"""Issue 15 item 3: `agent run --tools ...` (module:attr, built-in names, Hub ids with an explicit
trust flag), `--imports` that leaves the task alone, and `--stream` (live tokens)."""
import os
import subprocess
import sys
import textwrap

from sandcell.agent import tool
from scripted_llm import Reply, text


def run_cli(llm, address, *args, pythonpath=None):
    env = {**os.environ, "OPENAI_API_KEY": "sk-cli", "OPENAI_BASE_URL": llm.base_url,
           "SANDCELL_EXECUTOR": address, "COLUMNS": "120"}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "agent", "run", *args, "--model-type", "openai",
                           "--model", "scripted-model", "--max-steps", "3"],
                          env=env, capture_output=True, text=True, timeout=120)


def test_tools_from_a_module_and_imports_before_the_task(llm, agent_executor_address, tmp_path):
    (tmp_path / "my_tools.py").write_text(textwrap.dedent('''
        import smolagents
        from sandcell.agent import Tool, tool

        @tool
        def shout(words: str) -> str:
            """Shouts.

            Args:
                words: what to shout
            """
            return words.upper()

        class Double(Tool):
            name = "double"
            description = "Doubles a number."
            inputs = {"x": {"type": "integer", "description": "the number"}}
            output_type = "integer"

            def forward(self, x):
                return 2 * x

        @smolagents.tool
        def smol_add(a: int, b: int) -> int:
            """Adds.

            Args:
                a: one
                b: two
            """
            return a + b
    '''))
    llm.script(text("Thought: use them\n<code>\nimport json\n"
                    "final_answer(json.dumps([shout(words='hi'), double(x=smol_add(a=1, b=2))]))\n"))
    # --imports comes right before the task: it takes one value, so the task stays the task
    proc = run_cli(llm, agent_executor_address, "--tools", "my_tools:shout,my_tools:Double",
                   "--tools", "my_tools:smol_add", "--imports", "json", "Use the tools", pythonpath=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '["HI", 6]' in proc.stdout
    system = llm.requests[0]["messages"][0]["content"]
    assert "def shout(words: str) -> str:" in system and "def double(x: int) -> int:" in system
    assert "New task:\nUse the tools" in llm.requests[0]["messages"][1]["content"]


def test_builtin_tool_names_and_bad_specs(llm, agent_executor_address):
    llm.script(text("<code>\nfinal_answer('ok')\n"))
    proc = run_cli(llm, agent_executor_address, "--tools", "visit_webpage", "go")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "def visit_webpage(url: str) -> str:" in llm.requests[0]["messages"][0]["content"]
    proc = run_cli(llm, agent_executor_address, "--tools", "no_such_module:x", "go")
    assert proc.returncode == 1 and "cannot import module 'no_such_module'" in proc.stdout


@tool
def hub_greet(name: str) -> str:
    """Greets someone.

    Args:
        name: who
    """
    return f"hello {name}"


def test_hub_tools_need_the_trust_flag(llm, agent_executor_address, hub):
    hub_greet.push_to_hub("erin/greet")
    proc = run_cli(llm, agent_executor_address, "--tools", "erin/greet", "greet bob")
    assert proc.returncode == 1 and "--trust-remote-code" in proc.stdout
    assert llm.requests == []  # refused before any model call
    llm.script(text("<code>\nfinal_answer(hub_greet(name='bob'))\n"))
    proc = run_cli(llm, agent_executor_address, "--tools", "erin/greet", "--trust-remote-code", "greet bob")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hello bob" in proc.stdout


def test_stream_shows_tokens_live(llm, agent_executor_address):
    llm.script(Reply(content="Thought: streaming the thought token by token\n<code>\nfinal_answer(5)\n",
                     chunk_chars=3))
    proc = run_cli(llm, agent_executor_address, "--stream", "five")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert llm.requests[0]["stream"] is True
    assert proc.stdout.count("streaming the thought token by token") == 1  # shown once, as it streamed
    assert proc.stdout.index("Step 1") < proc.stdout.index("streaming the thought") < proc.stdout.index("final answer")
