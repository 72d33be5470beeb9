"""Shared fixtures: a real executor on a loopback port, clients, and the after-hostile-test check."""
from __future__ import annotations

import pytest

from sandcell.client import ExecutorClient, Limits
from sandcell.local import ExecutorProcess

# Imports sessions may ask for in tests (the server's ceiling).
TEST_CEILING = "dataclasses,json,functools,operator,asyncio,string,typing,textwrap,decimal,fractions"


@pytest.fixture(scope="session")
def local_executor():
    proc = ExecutorProcess("--import-ceiling", TEST_CEILING, "--max-sessions", "60")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def executor_address(local_executor) -> str:
    return local_executor.address


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
