"""`executor="docker"`: the agent starts the hardened container itself, through the Docker SDK
(sandcell/launcher.py), and leaves nothing behind — checked with Docker after the agent's
interpreter has exited, however it ended (normally, Ctrl-C, SIGKILL).

Also here, because they need the real containers: the launcher's containers as Docker applied
them against the one definition of the hardening (and the compose stack's, the same way), no
egress from the launcher's executor, sharing within a process and with a second process,
and the error for a missing image.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandcell.client import ExecutorClient
from sandcell.container import ContainerStartError, ImageNotFound, docker_client, exec_in
from sandcell.hardening import inspect_drift
from sandcell.launcher import LABEL, DockerExecutor, LaunchConfig
from tests.agent.scripted_llm import ScriptedLLM, text

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]
AGENT_TESTS = str(ROOT / "tests" / "agent")


@pytest.fixture(scope="module")
def docker():
    client = docker_client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def llm():
    server = ScriptedLLM()
    yield server
    server.close()


@pytest.fixture(scope="module")
def launched(executor_image):
    with DockerExecutor(LaunchConfig(image=executor_image, import_ceiling=("socket",))) as ex:
        yield ex


def leftovers(docker, name: str) -> dict[str, list[str]]:
    """Everything of one launcher that Docker still has."""
    flt = {"label": f"{LABEL}={name}"}
    return {"containers": [c.name for c in docker.containers.list(all=True, filters=flt)],
            "networks": [n.name for n in docker.networks.list(filters=flt)],
            "volumes": [v.name for v in docker.volumes.list(filters=flt)]}


NOTHING = {"containers": [], "networks": [], "volumes": []}


def wait_for_nothing(docker, name: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while (left := leftovers(docker, name)) != NOTHING and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


AGENT_SCRIPT = """
import json, sys
sys.path.insert(0, {agent_tests!r})
from agent import CodeAgent, OpenAIServerModel, RetryPolicy, tool

@tool
def shout(word: str) -> str:
    \"\"\"Upper-cases a word.

    Args:
        word: the word
    \"\"\"
    return word.upper() + "!"

model = OpenAIServerModel("scripted", api_base={base_url!r}, api_key="sk-test", retry=RetryPolicy(base_delay_s=0.01))
agent = CodeAgent(tools=[shout], model=model, executor="docker")
answer = agent.run("shout docker")
second = CodeAgent(tools=[], model=model, executor_type="docker")
second_answer = second.run("and again")
ex = agent._conn.launcher
print(json.dumps({{"answer": answer, "second": second_answer, "name": ex.name, "image": ex.config.image,
                  "shared": second._conn.launcher is ex, "address": ex.address,
                  "containers": sorted(c.name for c in ex.containers()),
                  "mounts": [c.attrs["Mounts"] for c in ex.containers()]}}))
"""


def test_code_agent_docker_runs_and_leaves_nothing_behind(llm, docker, executor_image):
    """The issue's example, from a fresh interpreter: after it exits, no container, network or
    volume of its launcher remains."""
    llm.script(text("Thought: use the tool\n<code>\nloud = shout('docker')\nprint(loud)\n"),
               text("<code>\nfinal_answer(loud)\n"),
               text("<code>\nfinal_answer(21 * 2)\n"))
    script = AGENT_SCRIPT.format(agent_tests=AGENT_TESTS, base_url=llm.base_url)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "SANDCELL_IMAGE": executor_image}, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["answer"] == "DOCKER!" and out["second"] == 42
    assert out["image"] == executor_image and out["address"].startswith("127.0.0.1:")
    # two agents of one process, one container (and its forwarder); tmpfs only, no volume
    assert out["shared"] and out["containers"] == sorted([f"{out['name']}-executor", f"{out['name']}-forwarder"])
    assert out["mounts"] == [[], []]
    assert leftovers(docker, out["name"]) == NOTHING  # removed before the interpreter exited


ABANDONED = """
import sys, time
from sandcell.launcher import shared_executor
ex = shared_executor()
print(ex.name, flush=True)
time.sleep(300)
"""


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_interrupted_or_killed_process_leaves_nothing_behind(docker, executor_image, how):
    """Ctrl-C ends the interpreter through atexit; SIGKILL runs nothing of ours, so the
    reaper (waiting on a pipe from the dead process) removes the containers."""
    proc = subprocess.Popen([sys.executable, "-c", ABANDONED], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "SANDCELL_IMAGE": executor_image}, cwd=ROOT)
    try:
        name = proc.stdout.readline().strip()
        assert name, proc.stderr.read()
        assert len(leftovers(docker, name)["containers"]) == 2
        proc.send_signal(how)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert wait_for_nothing(docker, name) == NOTHING


def test_launcher_containers_carry_the_hardening(launched, docker):
    """What Docker applied, not what was asked: inspect against the one definition."""
    executor, forwarder = (docker.containers.get(f"{launched.name}-{role}") for role in ("executor", "forwarder"))
    nets = {n: docker.networks.get(n).attrs for c in (executor, forwarder) for n in c.attrs["NetworkSettings"]["Networks"]}
    assert inspect_drift(executor.attrs, "executor", networks=nets) == []
    assert inspect_drift(forwarder.attrs, "forwarder", networks=nets) == []
    assert list(executor.attrs["NetworkSettings"]["Networks"]) == [f"{launched.name}_sandbox"]
    host, port = launched.address.split(":")
    assert host == "127.0.0.1" and forwarder.attrs["NetworkSettings"]["Ports"]["50051/tcp"] == [
        {"HostIp": "127.0.0.1", "HostPort": port}]


def test_compose_stack_carries_the_hardening(hardened_stack):
    stack = hardened_stack.stack
    for service in ("executor", "forwarder"):
        attrs = stack.inspect(service)
        nets = {n: stack.network(n) for n in attrs["NetworkSettings"]["Networks"]}
        assert inspect_drift(attrs, service, networks=nets) == []


NO_EGRESS = """
import json, socket
def attempt(host, port):
    try:
        socket.create_connection((host, port), timeout=3).close()
        return 'connected'
    except OSError as e:
        return type(e).__name__
print(json.dumps([attempt(host, port) for host, port in {targets!r}]))
"""


def test_launcher_executor_has_no_egress(launched, docker):
    """From a plain process in the executor's container (no jail, no policy: the container
    layer alone): neither the internet nor the host is reachable — not at its address on the
    forwarder's bridge (where the published port listens), not at the internal network's
    gateway address (which the bridge does not hold: inhibit_ipv4), not on Docker's default bridge."""
    port = int(launched.address.split(":")[1])
    gateways = [docker.networks.get(f"{launched.name}_{n}").attrs["IPAM"]["Config"][0]["Gateway"]
                for n in ("edge", "sandbox")]
    gateways.append("172.17.0.1")  # Docker's default bridge, where the engine usually listens too
    targets = [("1.1.1.1", 53), ("1.1.1.1", 443)] + [(g, port) for g in gateways]
    out = exec_in(docker.containers.get(f"{launched.name}-executor"),
                  ["python", "-c", NO_EGRESS.format(targets=targets)])
    assert out.returncode == 0, out.stderr
    assert "connected" not in json.loads(out.stdout), list(zip(targets, json.loads(out.stdout)))
    with ExecutorClient(launched.address, token=launched.token) as c:
        assert c.health()  # while the way in still works


SECOND_PROCESS = """
import sys
sys.path.insert(0, {agent_tests!r})
from agent import CodeAgent
from fake_model import FakeModel
agent = CodeAgent([], FakeModel("<code>\\nfinal_answer(5)\\n"))
agent.on_executor = print
assert agent.run("t") == 5
print(agent._conn.kind)
"""


def test_second_process_reuses_the_container_when_told(launched):
    """A second process given the launcher's address and token (client_env) uses that
    container: no new one, and the token is what lets it in."""
    env = {**os.environ, **launched.client_env()}
    proc = subprocess.run([sys.executable, "-c", SECOND_PROCESS.format(agent_tests=AGENT_TESTS)], env=env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"executor: the executor at {launched.address}" in proc.stdout and "remote" in proc.stdout
    assert len(launched.containers()) == 2
    env["SANDCELL_TOKEN"] = "not-the-token"
    denied = subprocess.run([sys.executable, "-c", SECOND_PROCESS.format(agent_tests=AGENT_TESTS)], env=env,
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert denied.returncode != 0 and "Unauthenticated" in denied.stderr


def test_missing_image_says_how_to_build_it(docker):
    missing = "sandcell-executor:no-such-tag"
    ex = DockerExecutor(LaunchConfig(image=missing))
    with pytest.raises(ImageNotFound, match=f"make image IMAGE={missing}"):
        ex.start()
    assert leftovers(docker, ex.name) == NOTHING and ex._reaper is None  # nothing was started


def test_executor_that_does_not_start_is_reported_with_its_log_and_removed(docker, executor_image):
    """A server that exits at start (here: a setting it refuses) is a ContainerStartError
    carrying the server's own complaint, and nothing of the attempt stays behind."""
    ex = DockerExecutor(LaunchConfig(image=executor_image, server_env=(("SANDCELL_MAX_SESSIONS", "many"),)))
    with pytest.raises(ContainerStartError, match="exited") as info:
        ex.start()
    assert "SANDCELL_MAX_SESSIONS" in str(info.value) or "many" in str(info.value), str(info.value)
    assert leftovers(docker, ex.name) == NOTHING


def test_cli_with_missing_image_is_a_message_not_a_traceback(llm):
    env = {**os.environ, "SANDCELL_IMAGE": "sandcell-executor:no-such-tag", "OPENAI_API_KEY": "sk", "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "agent", "run", "t", "--model-type", "openai", "--model", "m",
                           "--api-base", llm.base_url, "--executor", "docker"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    assert "ImageNotFound" in proc.stdout and "make image IMAGE=sandcell-executor:no-such-tag" in proc.stdout


def test_auto_chooses_the_container_when_the_image_is_built(executor_image, monkeypatch):
    from agent.executor_conn import choose_default
    monkeypatch.setenv("SANDCELL_IMAGE", executor_image)
    assert choose_default() == ("docker", f"the hardened container (image {executor_image})")
    monkeypatch.setenv("SANDCELL_IMAGE", "sandcell-executor:no-such-tag")
    kind, why = choose_default()
    assert kind == "local" and "make image" in why
