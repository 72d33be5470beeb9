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

import pytest  # noqa: E402

from agent.executor_conn import ExecutorConnection  # noqa: E402
from scripted_llm import ScriptedLLM  # noqa: E402


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
