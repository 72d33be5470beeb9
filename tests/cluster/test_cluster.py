"""Three replicas of the image behind one address, as deploy/ runs them (executor/routing.py):
containers with the shared hardening (sandcell/hardening.py) and the manifests' routing
settings (replica id = its name, peers = every replica, `{replica}:50051` to reach one, a
client token and a peer token), on a private Docker network where the container names
resolve, as pod names do through the headless Service. The "one address" is replica r0's
published port; the other replicas' ports stand in for the connections a Service would land
elsewhere. (The network is an ordinary private bridge so that each replica's port can be
published to the host; the no-egress network is compose's, tested in tests/docker/.)"""
from __future__ import annotations

import collections
import concurrent.futures
import os
import time
import uuid

import grpc
import pytest

from executor.routing import owner_of
from sandcell.client import ExecutorClient, ToolSpec
from sandcell.hardening import EXECUTOR_PORT, HARDENING, sdk_run_kwargs

pytestmark = pytest.mark.docker
NAMES = ("r0", "r1", "r2")
TOKEN, PEER_TOKEN = "cluster-client-token", "cluster-peer-token"
SESSIONS = 300
DOUBLE = ToolSpec("double", "doubles x", {"type": "object", "properties": {"x": {"type": "integer"}}})
TOOLS = {"double": lambda x: x * 2}


def _serving(address: str) -> bool:
    with ExecutorClient(address, token=TOKEN, timeout_s=2) as c:
        return c.health()


@pytest.fixture(scope="module")
def cluster(executor_image):
    import docker
    client = docker.from_env()
    tag = f"sandcellcluster{os.getpid()}{uuid.uuid4().hex[:6]}"
    network = client.networks.create(tag, driver="bridge", labels={"sandcell.test": tag})
    containers, addresses = {}, {}
    try:
        for name in NAMES:
            env = {"SANDCELL_TOKEN": TOKEN, "SANDCELL_PEER_TOKEN": PEER_TOKEN, "SANDCELL_REPLICA_ID": name,
                   "SANDCELL_PEERS": ",".join(f"{n}:{EXECUTOR_PORT}" for n in NAMES),
                   "SANDCELL_PEER_ADDRESS_TEMPLATE": f"{{replica}}:{EXECUTOR_PORT}",
                   "SANDCELL_MAX_SESSIONS": "200", "SANDCELL_SHUTDOWN_GRACE_S": "20", "SANDCELL_LOG_LEVEL": "WARNING"}
            c = client.containers.create(executor_image, name=f"{tag}-{name}", network=network.name,
                                         environment=env, labels={"sandcell.test": tag},
                                         ports={f"{EXECUTOR_PORT}/tcp": (HARDENING.publish_host, None)},
                                         **sdk_run_kwargs("executor"))
            network.disconnect(c)
            network.connect(c, aliases=[name])  # the name peers reach it by, as a pod's DNS name
            c.start()
            containers[name] = c
        for name, c in containers.items():
            c.reload()
            port = c.attrs["NetworkSettings"]["Ports"][f"{EXECUTOR_PORT}/tcp"][0]["HostPort"]
            addresses[name] = f"{HARDENING.publish_host}:{port}"
        deadline = time.monotonic() + 60
        while not all(_serving(a) for a in addresses.values()):
            assert time.monotonic() < deadline, {n: c.logs(tail=20).decode() for n, c in containers.items()}
            time.sleep(0.2)
        yield containers, addresses
    finally:
        for c in containers.values():
            c.remove(force=True)
        network.remove()


def _client(address: str) -> ExecutorClient:
    return ExecutorClient(address, token=TOKEN, timeout_s=60)


@pytest.fixture(scope="module")
def spread(cluster):
    """300 sessions created through the one address, each holding its number."""
    _, addresses = cluster
    front = _client(addresses["r0"])

    def create(i):
        s = front.create_session(tools=[DOUBLE])
        assert s.execute_unary(f"mine = {i}").ok
        return s
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        sessions = list(pool.map(create, range(SESSIONS)))
    yield sessions
    front.close()


def test_sessions_created_through_one_address_land_on_every_replica(spread):
    owners = collections.Counter(owner_of(s.id) for s in spread)
    assert set(owners) == set(NAMES), owners
    assert min(owners.values()) >= SESSIONS // 6, owners  # spread by load, not piled on one


def test_executes_work_through_connections_that_land_on_other_replicas(cluster, spread):
    _, addresses = cluster
    clients = {n: _client(a) for n, a in addresses.items()}
    try:
        for i, s in enumerate(spread[:30]):
            owner = owner_of(s.id)
            for name in NAMES:
                if name == owner:
                    continue
                c = clients[name]
                r = c.execute_unary(s.id, "mine")
                assert r.ok and r.value.python() == i, r
                printed = []
                r = c.execute(s.id, "print('via', mine)\ndouble(x=mine)", tools=TOOLS,
                              on_output=lambda stream, text: printed.append(text))
                assert r.ok and r.value.python() == 2 * i and f"via {i}" in "".join(printed), r
                assert c.get_session(s.id).execute_count >= 2
        listed = {i.session_id for i in clients["r1"].list_sessions()}
        assert {s.id for s in spread} <= listed  # one list, every replica's sessions
    finally:
        for c in clients.values():
            c.close()


def test_a_killed_replica_fails_its_sessions_clearly_and_only_them(cluster, spread):
    containers, addresses = cluster
    containers["r2"].kill()  # SIGKILL: no drain, as a lost node
    with _client(addresses["r0"]) as front, _client(addresses["r1"]) as other:
        assert front.health() and other.health()
        for s in spread[:60]:
            if owner_of(s.id) == "r2":
                for c in (front, other):
                    with pytest.raises(Exception) as err:
                        c.execute_unary(s.id, "mine")
                    assert err.value.code == grpc.StatusCode.UNAVAILABLE
                    assert "r2" in str(err.value) and "create a new one" in str(err.value)
            else:
                r = front.execute_unary(s.id, "mine")
                assert r.ok and r.value.python() == spread.index(s)
        news = [front.create_session() for _ in range(6)]  # creates go to the replicas left
        assert {owner_of(s.id) for s in news} <= {"r0", "r1"}
        for s in news:
            s.close()


def test_sigterm_drain_finishes_running_executes_before_exit(cluster, spread):
    containers, addresses = cluster
    victim = next(s for s in spread if owner_of(s.id) == "r1")
    with _client(addresses["r0"]) as front:  # through the hop: the stream is relayed
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            running = pool.submit(front.execute, victim.id, "import time\ntime.sleep(3)\n'finished'", tools=TOOLS)
            time.sleep(1)
            t0 = time.monotonic()
            containers["r1"].stop(timeout=30)  # SIGTERM, then waits for the exit
            stopped_after = time.monotonic() - t0
            r = running.result(timeout=30)
        assert r.ok and r.value.python() == "finished", r
        assert stopped_after >= 1.0  # it waited for the execute, not killed at once
        containers["r1"].reload()
        assert containers["r1"].attrs["State"]["ExitCode"] == 0
        assert front.health()
