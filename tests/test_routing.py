"""Many replicas, one address (executor/routing.py), with three local server processes: any
replica serves any session by forwarding to the one its id names, creates spread by load.
(Replica ids are the ports here, and --peer-address-template 127.0.0.1:{replica} maps an id to
its address: the same seam the containers in tests/cluster/ use with names.) The suite with
containers, a killed replica and a drain is tests/cluster/."""
from __future__ import annotations

import collections

import grpc
import pytest

from executor.routing import owner_of
from sandcell.client import ExecutorClient, ToolSpec
from sandcell.local import ExecutorProcess, free_ports

TOKEN, BOB, PEER_TOKEN = "alice-token-for-tests", "bob-token-for-tests", "peer-token-for-tests"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    tokens = tmp_path_factory.mktemp("routing") / "tokens"
    tokens.write_text(f"alice {TOKEN}\nbob {BOB}\n")
    ports = free_ports(3)
    peers = ",".join(f"127.0.0.1:{p}" for p in ports)
    procs = []
    try:
        for p in ports:
            procs.append(ExecutorProcess("--port", str(p), "--replica-id", str(p), "--peers", peers,
                                         "--peer-address-template", "127.0.0.1:{replica}", "--max-sessions", "40",
                                         env={"SANDCELL_TOKENS_FILE": str(tokens), "SANDCELL_PEER_TOKEN": PEER_TOKEN}))
        yield procs
    finally:
        for proc in procs:
            proc.stop()


def _client(proc) -> ExecutorClient:
    return ExecutorClient(proc.address, token=TOKEN, timeout_s=30)


def test_creates_through_one_replica_spread_over_all(replicas):
    with _client(replicas[0]) as c:
        sessions = [c.create_session() for _ in range(30)]
        owners = collections.Counter(owner_of(s.id) for s in sessions)
        assert set(owners) == {r.address.rsplit(":", 1)[1] for r in replicas}, owners
        assert max(owners.values()) - min(owners.values()) <= 4, owners  # by load, not all on one
        listed = {i.session_id for i in c.list_sessions()}
        assert {s.id for s in sessions} <= listed  # ListSessions: every replica's sessions
        for s in sessions:
            s.close()


DOUBLE = ToolSpec("double", "doubles x", {"type": "object", "properties": {"x": {"type": "integer"}}})


def _others(replicas, session_id):
    """Replicas other than the session's owner."""
    return [r for r in replicas if not r.address.endswith(":" + owner_of(session_id))]


def test_every_call_reaches_the_owner_from_any_replica(replicas):
    with _client(replicas[0]) as c0:
        s = c0.create_session(tools=[DOUBLE])
        s.execute("n = 20")
        others = _others(replicas, s.id)
        assert len(others) == 2
        for r, before in zip(others, (20, 40)):
            with _client(r) as c:
                assert c.get_session(s.id).session_id == s.id
                assert c.execute_unary(s.id, "n + 1").value.python() == before + 1
                printed = []
                got = c.execute(s.id, "print('hi')\nn = double(x=n)\nn", tools={"double": lambda x: x * 2},
                                on_output=lambda stream, text: printed.append(text))
                assert got.ok and "hi" in "".join(printed), got
        assert s.execute("n").value.python() == 80  # both hops ran in the owner's session
        with _client(others[0]) as c:
            assert c.close_session(s.id).session_id == s.id
            with pytest.raises(Exception) as err:
                c.get_session(s.id)
            assert err.value.code == grpc.StatusCode.NOT_FOUND


def test_a_client_cannot_pose_as_a_replica(replicas):
    """The hop mark and a tenant name are honoured only with the peer token."""
    channel = grpc.insecure_channel(replicas[0].address)
    load = channel.unary_unary("/sandcell.internal.v1.Peer/Load", request_serializer=lambda m: b"{}",
                               response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as err:
        load({}, metadata=[("authorization", f"Bearer {TOKEN}")], timeout=5)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    channel.close()
    with ExecutorClient(replicas[1].address, token="wrong", timeout_s=10) as c:
        with pytest.raises(Exception) as err:
            c.create_session()
        assert err.value.code == grpc.StatusCode.UNAUTHENTICATED


def test_the_tenant_travels_with_a_forwarded_call(replicas):
    """Another tenant gets NOT_FOUND for alice's session on every replica, as for an id that
    never existed, and sees none of her sessions in the aggregated list."""
    with _client(replicas[0]) as alice:
        s = alice.create_session()
        for r in replicas:
            with ExecutorClient(r.address, token=BOB, timeout_s=30) as bob:
                with pytest.raises(Exception) as err:
                    bob.execute_unary(s.id, "1")
                assert err.value.code == grpc.StatusCode.NOT_FOUND
                assert s.id not in {i.session_id for i in bob.list_sessions()}
            with _client(r) as again:
                assert s.id in {i.session_id for i in again.list_sessions()}
        s.close()
