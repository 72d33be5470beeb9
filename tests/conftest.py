"""Shared fixtures: a real executor on a loopback port, clients, and the after-hostile-test check.

The executor's own suite (tests/test_*.py) runs against two targets: `local`, a server
process on a loopback port, and `docker`, the hardened container stack (docker/compose.yaml).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandcell.client import ExecutorClient, Limits
from sandcell.local import ExecutorProcess
from tests.hostile import service_kept

pytest_plugins = ["tests.docker.stack"]  # executor_image, hardened_stack
# Which targets the executor's suite runs against; `make test-fast` picks local only.
TARGETS = tuple(os.environ.get("SANDCELL_TEST_TARGETS", "local,docker").split(","))
# An agent given no executor chooses "auto": the container whenever an image is built. The
# suite pins the embedded executor for those (fast, Docker-free under `make test-fast`, and
# never a stale image); the choice itself is tested where it is named
# (tests/agent/test_agent_executor_choice.py, tests/docker/test_launcher.py).
os.environ.setdefault("SANDCELL_EXECUTOR", "local")

# Imports sessions may ask for in tests (the server's ceiling).
TEST_CEILING = "dataclasses,json,functools,operator,asyncio,string,typing,textwrap,decimal,fractions"


@pytest.fixture(scope="session")
def local_executor():
    proc = ExecutorProcess("--import-ceiling", TEST_CEILING, "--max-sessions", "60")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def docker_executor(executor_image):
    from tests.docker.stack import compose_stack  # the plugin module, imported after registration
    with compose_stack("api", TEST_CEILING, max_sessions=60) as running:
        yield running


def pytest_generate_tests(metafunc):
    """Parametrize the executor's own suite by target. Suites built on the executor
    (tests/agent) and tests that inspect the local server's processes stay local, but are
    parametrized too: a session-scoped `client` cached for one target must never be handed
    to a test of another."""
    if "executor_target" not in metafunc.fixturenames:
        return
    own_suite = Path(metafunc.definition.path).parent == Path(__file__).parent
    both = own_suite and "local_executor" not in metafunc.fixturenames
    metafunc.parametrize("executor_target", TARGETS if both else ("local",), scope="session")


@pytest.fixture(scope="session")
def executor_address(request, executor_target) -> str:
    target = "docker_executor" if executor_target == "docker" else "local_executor"
    return request.getfixturevalue(target).address


@pytest.fixture(scope="session")
def client(executor_address):
    with ExecutorClient(executor_address, timeout_s=120) as c:
        yield c


@pytest.fixture
def session(client):
    s = client.create_session(limits=Limits(wall_timeout_ms=10_000))
    yield s
    s.close() if _open(client, s.id) else None


def _open(client, sid) -> bool:
    return any(info.session_id == sid for info in client.list_sessions())


@pytest.fixture(scope="session")
def sentinel(client):
    """A session holding known state; hostile tests check it is still intact afterwards."""
    s = client.create_session()
    assert s.execute("sentinel_value = {'n': 12345}\nsentinel_value['n']").value.python() == 12345
    return s


@pytest.fixture
def service_intact(client, sentinel):
    """Use in hostile tests: after the test, the service is healthy and another session kept its state."""
    yield
    assert client.health(), "executor is not SERVING after a hostile test"
    r = sentinel.execute("sentinel_value['n']")
    assert r.ok and r.value.python() == 12345 and not r.restored, f"sentinel session disturbed: {r}"


@pytest.fixture(scope="module")
def hostile():
    """(server, client, bystander) for hostile-worker tests: a local server whose sessions may
    import `os` (so code reaches its own process, channel and checkpoint descriptor), and a
    session holding known state that must come through every test unchanged."""
    with ExecutorProcess("--allowed-imports", "os,struct,signal,time") as proc, \
            ExecutorClient(proc.address, timeout_s=60) as c:
        other = c.create_session()
        assert other.execute("kept = {'n': 777}\nkept['n']").value.python() == 777
        yield proc, c, other


@pytest.fixture
def intact(hostile):
    """After a hostile test: the service serves, the zygote is the same process and holds
    spares, and the bystander kept its state and its checkpoint byte for byte."""
    proc, c, other = hostile
    with service_kept(proc, c, other, "kept['n']", 777):
        yield
