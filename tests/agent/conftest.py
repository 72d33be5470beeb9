"""Fixtures for the agent tests: a loopback LLM server and a connection to a real executor.

The executor itself comes from tests/conftest.py (`local_executor`: a real
`python -m executor` on a loopback port, shared by the whole test session). The agent tests
use that one directly, whatever other targets `executor_address` may be parametrized over:
they test the agent, not the deployment, and the machine has two cores.
"""
from __future__ import annotations

import os

# litellm otherwise tries to download its model price list at import (no network here).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import sys  # noqa: E402
import tempfile  # noqa: E402

from loopback_hub import LoopbackHub  # noqa: E402

# The Hub for this test session is a loopback stand-in (tests/agent/loopback_hub.py):
# huggingface_hub reads HF_ENDPOINT once, when first imported, so it is set here, before any
# test module imports it; its cache goes to a fresh directory.
_HUB = LoopbackHub()
os.environ["HF_ENDPOINT"] = _HUB.endpoint
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="sandcell-hf-home-")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_TOKEN", None)
if "huggingface_hub" in sys.modules:
    raise RuntimeError("huggingface_hub was imported before tests/agent/conftest.py could aim it at the "
                       "loopback Hub; the Hub tests would reach the real one")

import pytest  # noqa: E402

from agent.executor_conn import ExecutorConnection  # noqa: E402
from scripted_llm import ScriptedLLM  # noqa: E402


@pytest.fixture
def hub() -> LoopbackHub:
    """The loopback Hub that huggingface_hub talks to in this test session (HF_ENDPOINT)."""
    return _HUB


@pytest.fixture(scope="session")
def _llm_server():
    server = ScriptedLLM()
    yield server
    server.close()


@pytest.fixture
def llm(_llm_server) -> ScriptedLLM:
    """The loopback OpenAI-compatible server with an empty script; call `llm.script(...)`."""
    _llm_server.script()
    return _llm_server


@pytest.fixture(scope="session")
def agent_executor_address(local_executor) -> str:
    return local_executor.address


@pytest.fixture
def executor(agent_executor_address):
    """A connection to the real test executor (not owned: closing it leaves the server up)."""
    conn = ExecutorConnection.connect(agent_executor_address)
    yield conn
    conn.close()
