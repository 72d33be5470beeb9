"""Item 6 of issue 15: `sandcell.agent` / `sandcell.executor` are the documented import paths;
the short `agent` / `executor` names stay as aliases of the very same modules."""
import subprocess
import sys
import textwrap
from pathlib import Path

import agent
import executor.server
import sandcell.agent
import sandcell.agent.tools
import sandcell.executor
import sandcell.executor.server
from sandcell.agent import CodeAgent, Tool
from sandcell.executor.v1 import executor_pb2

ROOT = Path(__file__).resolve().parents[2]


def test_long_names_are_the_same_modules_not_copies():
    assert sandcell.agent is agent
    assert sandcell.agent.tools is agent.tools and Tool is agent.tools.Tool and CodeAgent is agent.CodeAgent
    assert sandcell.executor.server is executor.server
    # the long name's classes are the short name's: isinstance works across both spellings
    assert isinstance(agent.FinalAnswerTool(), sandcell.agent.Tool)


def test_sandcell_executor_offers_the_service_api_and_keeps_the_proto_subpackage():
    from sandcell.executor import ServerConfig, build_server
    assert build_server is executor.server.build_server and ServerConfig.__module__ == "executor.config"
    assert executor_pb2.__name__ == "sandcell.executor.v1.executor_pb2"


def test_importing_the_client_does_not_import_the_server():
    code = "import sandcell.client, sys; print('executor.server' in sys.modules, 'agent' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_users_own_agent_module_is_not_passed_off_as_sandcells(tmp_path):
    (tmp_path / "agent.py").write_text("MINE = True\n")
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        import agent                          # the user's module wins the short name...
        assert agent.MINE
        try:
            import sandcell.agent             # ...and the long name says so instead of handing it out
        except ImportError as e:
            print("refused:", e)
    """)
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert "refused:" in out.stdout and str(tmp_path / "agent.py") in out.stdout and "rename" in out.stdout


def test_missing_submodule_is_an_import_error():
    r = subprocess.run([sys.executable, "-c", "import sandcell.agent.no_such_module"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 1 and "ModuleNotFoundError" in r.stderr


def test_python_dash_m_runs_under_the_long_names():
    agent_help = subprocess.run([sys.executable, "-m", "sandcell.agent", "run", "--help"], cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
    assert agent_help.returncode == 0 and agent_help.stdout.startswith("usage: agent run")
    server_help = subprocess.run([sys.executable, "-m", "sandcell.executor", "--help"], cwd=ROOT,
                                 capture_output=True, text=True, timeout=60)
    assert server_help.returncode == 0 and "--import-ceiling" in server_help.stdout
